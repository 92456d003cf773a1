import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCustomerRecord, createDemoTenant, type DemoTenant } from '../testing/fixtures.js';
import { DIALECTS } from '../testing/harness.js';
import { IVR_CUSTOMER_PATH } from './ivr.js';
import { errorMessage, startTelephonyBackend, type TelephonyBackend } from './test-support.js';

describe.each(DIALECTS)('the IVR customer check on %s', (dialect) => {
  let t: TelephonyBackend;
  let other: DemoTenant;
  let numeric: { id: string };

  beforeAll(async () => {
    t = await startTelephonyBackend(dialect);
    other = await createDemoTenant(t.backend.handle, t.backend.config.argon2, { slug: 'other', name: 'Other Center' });
    numeric = await createCustomerRecord(t.backend.handle, t.backend.demo.tenant.id, { code: '7654321', name: '番号 一郎' });
    // Same digits twice in one tenant: neither may be popped.
    await createCustomerRecord(t.backend.handle, t.backend.demo.tenant.id, { code: 'A-555', name: '重複 一' });
    await createCustomerRecord(t.backend.handle, t.backend.demo.tenant.id, { code: 'B555', name: '重複 二' });
  });
  afterAll(() => t?.dispose());

  const check = (query: Record<string, string>, token = t.ctiToken) =>
    t.call('GET', `${IVR_CUSTOMER_PATH}?${new URLSearchParams({ tenant: 'demo', ...query })}`, { cti: token });
  const auditOf = async (callId: string) => {
    const rows = await t.backend.handle.db
      .selectFrom('audit_events')
      .select(['action', 'customer_id', 'user_id', 'details', 'tenant_id'])
      .where('action', '=', 'ivr_customer_checked')
      .orderBy('id')
      .execute();
    return rows
      .map((row) => ({ ...row, details: JSON.parse(row.details) as Record<string, unknown> }))
      .filter((row) => row.details.callId === callId);
  };

  it('finds the customer by the code as keyed in, exactly or by its digits', async () => {
    const exact = await check({ code: '7654321', callId: 'ivr-exact' });
    expect(exact.statusCode, exact.body).toBe(200);
    expect(exact.json()).toEqual({ customerId: numeric.id });

    const byDigits = await check({ code: '0001', callId: 'ivr-digits' });
    expect(byDigits.statusCode, byDigits.body).toBe(200);
    expect(byDigits.json()).toEqual({ customerId: t.backend.demo.customers.yamada.id });
    const audit = await auditOf('ivr-digits');
    expect(audit).toEqual([
      {
        action: 'ivr_customer_checked',
        customer_id: t.backend.demo.customers.yamada.id,
        user_id: null,
        tenant_id: t.backend.demo.tenant.id,
        details: { pbx: 'main-pbx', callId: 'ivr-digits', try: 1, outcome: 'found', digits: 4 },
      },
    ]);
  });

  it('answers 404 for an unknown or ambiguous number and keeps only the digit count of a failed try', async () => {
    const unknown = await check({ code: '31415926', callId: 'ivr-unknown' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 'not_found' } });
    expect(errorMessage(unknown)).toMatch(/^code:/);
    const ambiguous = await check({ code: '555', callId: 'ivr-unknown' });
    expect(ambiguous.statusCode).toBe(404);
    const audit = await auditOf('ivr-unknown');
    expect(audit.map((row) => row.details)).toEqual([
      { pbx: 'main-pbx', callId: 'ivr-unknown', try: 1, outcome: 'not_found', digits: 8 },
      { pbx: 'main-pbx', callId: 'ivr-unknown', try: 2, outcome: 'not_found', digits: 3 },
    ]);
    expect(JSON.stringify(audit)).not.toContain('31415926');
  });

  it('allows three tries per call and refuses the fourth, even with the right number', async () => {
    for (const code of ['1', '2', '3']) expect((await check({ code, callId: 'ivr-limit' })).statusCode).toBe(404);
    const fourth = await check({ code: '7654321', callId: 'ivr-limit' });
    expect(fourth.statusCode).toBe(429);
    expect(fourth.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await auditOf('ivr-limit')).map((row) => row.details.outcome)).toEqual(['not_found', 'not_found', 'not_found', 'refused']);
    // Another call starts with three tries of its own.
    expect((await check({ code: '7654321', callId: 'ivr-limit-2' })).statusCode).toBe(200);
  });

  it('keeps tenants apart: a number is looked up only in the tenant named, and only for a PBX serving it', async () => {
    await createCustomerRecord(t.backend.handle, other.tenant.id, { code: '2468', name: '別テナント' });
    expect((await check({ code: '2468', callId: 'ivr-tenant-1' })).statusCode).toBe(404);
    const own = await check({ tenant: 'other', code: '2468', callId: 'ivr-tenant-2' }, t.otherPbxToken);
    expect(own.statusCode).toBe(200);
    const foreign = await check({ code: '7654321', callId: 'ivr-tenant-3' }, t.otherPbxToken);
    expect(foreign.statusCode).toBe(403);
    expect((await check({ code: '7654321', callId: 'ivr-tenant-4' }, `${t.ctiToken}x`)).statusCode).toBe(401);
  });

  it('refuses bad input, naming the field', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ code: '12a4', callId: 'x' }, /^query\.code:/],
      [{ code: '', callId: 'x' }, /^query\.code:/],
      [{ code: '1'.repeat(21), callId: 'x' }, /^query\.code:/],
      [{ code: '1234' }, /^query\.callId:/],
      [{ code: '1234', callId: 'has space' }, /^query\.callId:/],
    ];
    for (const [query, message] of cases) {
      const response = await check(query);
      expect(response.statusCode, JSON.stringify(query)).toBe(400);
      expect(errorMessage(response)).toMatch(message);
    }
  });
});
