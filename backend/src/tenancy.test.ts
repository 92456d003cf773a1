import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ByPhoneResponse, ChangesPage, PushResponse, SearchResponse } from '../../shared/api.js';
import { decodeSnapshotPage } from '../../shared/snapshot-wire.js';
import { createDemoTenant, type DemoTenant } from './testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from './testing/harness.js';

/**
 * Two tenants with identical logins, customer codes, names and phone numbers: whatever a user of
 * tenant A asks, no id of tenant B may come back.
 */
describe.each(DIALECTS)('tenant isolation on %s', (dialect) => {
  let backend: TestBackend;
  let other: DemoTenant;
  let otherIds: Set<string>;
  let adminA: string;
  let adminB: string;
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    other = await createDemoTenant(backend.handle, backend.config.argon2, { slug: 'other', name: 'Other Contact Center' });
    const customers = Object.values(other.customers);
    otherIds = new Set([
      other.tenant.id,
      ...Object.values(other.users).map((u) => u.id),
      ...customers.flatMap((c) => [c.id, ...c.incidentIds, ...c.contactIds]),
    ]);
    adminA = await backend.login('admin');
    adminB = await backend.login('admin', { tenant: 'other' });
  });
  afterAll(() => backend?.dispose());

  /** Every id-looking string anywhere in a response body. */
  const leakedIds = (body: string) => [...otherIds].filter((id) => body.includes(id));

  it('logs the same login into its own tenant', async () => {
    const me = await backend.get(API.me, adminB);
    expect(me.json()).toMatchObject({ user: { id: other.users.admin.id, tenantId: other.tenant.id } });
  });

  it('search and lookup by phone never return the other tenant\'s customers', async () => {
    for (const q of ['山田', 'C-0001', 'acme', '03-1234-5678', 'example']) {
      const response = await backend.get(`${API.customerSearch}?q=${encodeURIComponent(q)}`, adminA);
      expect(response.statusCode).toBe(200);
      expect(SearchResponse.parse(response.json()).customers.length, q).toBeGreaterThan(0);
      expect(leakedIds(response.body), q).toEqual([]);
    }
    const byPhone = await backend.get(`${API.customerByPhone}?phone=0312345678`, adminA);
    expect(ByPhoneResponse.parse(byPhone.json()).record?.customer.id).toBe(backend.demo.customers.yamada.id);
    expect(leakedIds(byPhone.body)).toEqual([]);
  });

  it('answers 404 for the other tenant\'s customer, incident or user', async () => {
    const foreignCustomer = other.customers.yamada.id;
    expect((await backend.get(API.customer.replace(':id', foreignCustomer), adminA)).statusCode).toBe(404);
    expect((await backend.send('PATCH', API.customer.replace(':id', foreignCustomer), { name: '乗っ取り' }, adminA)).statusCode).toBe(404);
    expect((await backend.send('POST', API.incidents, { customerId: foreignCustomer, title: 'x' }, adminA)).statusCode).toBe(404);
    expect((await backend.send('PATCH', API.userRights.replace(':id', other.users.agent.id), { customerLimitAuthority: 1 }, adminA)).statusCode).toBe(404);
    const foreignRep = await backend.send('POST', API.customers, { code: 'X-1', name: 'x', assignedRepId: other.users.agent.id }, adminA);
    expect(foreignRep.statusCode).toBe(400);
    expect(foreignRep.body).toContain('body.assignedRepId');
    const name = await backend.handle.db.selectFrom('customers').select('name').where('id', '=', foreignCustomer).executeTakeFirstOrThrow();
    expect(name.name).toBe('山田 太郎');
  });

  it('snapshot and changes carry only the own tenant\'s records', async () => {
    const snapshot = await backend.get(`${API.syncSnapshot}?limit=2000`, adminA);
    const page = decodeSnapshotPage(snapshot.json());
    expect(page.total).toBe(page.records.length);
    expect(leakedIds(snapshot.body)).toEqual([]);
    const changes = await backend.get(`${API.syncChanges}?after=0&limit=5000`, adminA);
    expect(ChangesPage.parse(changes.json()).changes.length).toBeGreaterThan(0);
    expect(leakedIds(changes.body)).toEqual([]);
  });

  it('rejects a note for the other tenant\'s incident, and keeps client ids apart per tenant', async () => {
    const clientId = randomUUID();
    const entry = (incidentId: string | undefined) => ({ type: 'add_note', clientId, incidentId, body: 'cross-tenant', createdAt: new Date().toISOString() });
    const foreign = await backend.send('POST', API.syncPush, { entries: [entry(other.customers.yamada.incidentIds[0])] }, adminA);
    expect(PushResponse.parse(foreign.json()).results[0]?.status).toBe('rejected');
    const stored = await backend.handle.db.selectFrom('contacts').select('id').where('body', '=', 'cross-tenant').execute();
    expect(stored).toHaveLength(0);

    const own = await backend.send('POST', API.syncPush, { entries: [entry(other.customers.yamada.incidentIds[0])] }, adminB);
    expect(PushResponse.parse(own.json()).results[0]?.status).toBe('applied');
  });
});
