import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, AUDIT_API, AuditPage, PushResponse } from '../../shared/api.js';
import { recordAudit } from './audit.js';
import { csvCell } from './audit-viewer.js';
import { createUser } from './testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from './testing/harness.js';

const query = (params: Record<string, string | number>) => `${AUDIT_API.list}?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`;

describe('csvCell', () => {
  it.each([
    ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    ['+1', `"'+1"`],
    ['-2', `"'-2"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\tcmd', `"'\tcmd"`],
    ['山田 "太郎", 様', `"山田 ""太郎"", 様"`],
  ])('neutralises %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });
});

describe.each(DIALECTS)('audit viewer on %s', (dialect) => {
  let backend: TestBackend;
  let tokens: { admin: string; supervisor: string; agent: string; osaka: string };
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tokens = {
      admin: await backend.login('admin'),
      supervisor: await backend.login('supervisor'),
      agent: await backend.login('agent'),
      osaka: await backend.login('osaka'),
    };
    const { tenant, users, customers } = backend.demo;
    // A known history: 30 views of Yamada by the agent a minute apart, two edits of Acme by the admin.
    for (let i = 0; i < 30; i += 1) {
      await recordAudit(backend.handle.db, {
        tenantId: tenant.id,
        userId: users.agent.id,
        action: 'customer_viewed',
        customerId: customers.yamada.id,
        details: { via: 'id', n: i },
        at: new Date(Date.UTC(2026, 0, 10, 9, i)).toISOString(),
      });
    }
    for (const minute of [5, 50]) {
      await recordAudit(backend.handle.db, {
        tenantId: tenant.id,
        userId: users.admin.id,
        action: 'customer_updated',
        customerId: customers.acme.id,
        details: { fields: ['name'], note: '=cmd|calc' },
        at: new Date(Date.UTC(2026, 0, 10, 9, minute)).toISOString(),
      });
    }
  });
  afterAll(() => backend?.dispose());

  const page = async (token: string, params: Record<string, string | number>) => {
    const response = await backend.get(query(params), token);
    expect(response.statusCode, response.body).toBe(200);
    return AuditPage.parse(response.json());
  };

  it('pages through a filtered history newest first, without gaps or repeats', async () => {
    const filter = { customerId: backend.demo.customers.yamada.id, action: 'customer_viewed', from: '2026-01-10T00:00:00Z', to: '2026-01-11T00:00:00Z' };
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 10; guard += 1) {
      const result: AuditPage = await page(tokens.admin, { ...filter, limit: 7, ...(cursor ? { cursor } : {}) });
      for (const entry of result.entries) {
        expect(entry).toMatchObject({ action: 'customer_viewed', customerId: backend.demo.customers.yamada.id, customerName: '山田 太郎', userName: '鈴木 一郎' });
        seen.push(entry.details.n as number);
      }
      cursor = result.nextCursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => 29 - i));
  });

  it('filters by user, action and a time window', async () => {
    const byAdmin = await page(tokens.admin, { userId: backend.demo.users.admin.id, action: 'customer_updated' });
    expect(byAdmin.entries.map((e) => e.at)).toEqual(['2026-01-10T09:50:00.000Z', '2026-01-10T09:05:00.000Z']);
    const window = await page(tokens.admin, { from: '2026-01-10T09:04:00Z', to: '2026-01-10T09:06:00Z' });
    // Same time: the later event (higher id) first.
    expect(window.entries.map((e) => [e.action, e.at])).toEqual([
      ['customer_updated', '2026-01-10T09:05:00.000Z'],
      ['customer_viewed', '2026-01-10T09:05:00.000Z'],
      ['customer_viewed', '2026-01-10T09:04:00.000Z'],
    ]);
  });

  it('keeps agents out and hides from supervisors the customers they may not see', async () => {
    expect((await backend.get(query({}), tokens.agent)).statusCode).toBe(403);
    expect((await backend.get(AUDIT_API.exportCsv, tokens.osaka)).statusCode).toBe(403);
    // A supervisor with authority 2 may not see Acme (classification 1), nor its events.
    await createUser(backend.handle, backend.demo.tenant.id, { login: 'sv2', displayName: 'SV2', role: 'supervisor', customerLimitAuthority: 2, password: backend.demo.password }, backend.config.argon2);
    const limited = await backend.login('sv2');
    expect((await page(limited, { customerId: backend.demo.customers.acme.id })).entries).toEqual([]);
    expect((await page(limited, { customerId: backend.demo.customers.yamada.id, limit: 1 })).entries).toHaveLength(1);
    expect((await page(tokens.supervisor, { customerId: backend.demo.customers.acme.id })).entries.length).toBeGreaterThan(0);
    const adminView = await page(tokens.admin, { customerId: backend.demo.customers.acme.id, action: 'customer_updated' });
    expect(adminView.entries).toHaveLength(2);
  });

  it('names what is wrong in a bad query', async () => {
    const badAction = await backend.get(query({ action: 'drop_tables' }), tokens.admin);
    expect(badAction.statusCode).toBe(400);
    expect(badAction.body).toMatch(/action/);
    const backwards = await backend.get(query({ from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }), tokens.admin);
    expect(backwards.statusCode).toBe(400);
    expect(backwards.body).toMatch(/from/);
    const badCursor = await backend.get(query({ cursor: 'nonsense' }), tokens.admin);
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.body).toMatch(/cursor/);
  });

  it('exports the filtered events as injection-safe CSV', async () => {
    const response = await backend.get(`${AUDIT_API.exportCsv}?customerId=${backend.demo.customers.acme.id}&action=customer_updated`, tokens.admin);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    const lines = response.body.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('"at","action","user_id","user_name","customer_id","customer_name","details"');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('"Acme Holdings"');
    // The details cell starts with "{", so it is left alone; no cell starts with a bare formula character.
    for (const line of lines) expect(line).not.toMatch(/(^|,)"[=+\-@]/);
  });

  it('records a customer view made from the cache once, at the time of the view, however often it is sent', async () => {
    const entry = {
      type: 'customer_viewed',
      clientId: randomUUID(),
      customerId: backend.demo.customers.yamada.id,
      via: 'cache_open',
      createdAt: '2026-01-09T23:59:30.000Z',
    };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const response = await backend.send('POST', API.syncPush, { entries: [entry] }, tokens.agent);
      expect(response.statusCode).toBe(200);
      expect(PushResponse.parse(response.json()).results[0]?.status).toBe(attempt === 0 ? 'applied' : 'duplicate');
    }
    const views = await page(tokens.admin, { customerId: backend.demo.customers.yamada.id, to: '2026-01-10T00:00:00Z' });
    expect(views.entries).toHaveLength(1);
    expect(views.entries[0]).toMatchObject({ action: 'customer_viewed', at: '2026-01-09T23:59:30.000Z', userId: backend.demo.users.agent.id });
    expect(views.entries[0]?.details).toMatchObject({ via: 'cache_open', clientId: entry.clientId });

    const foreign = await backend.send('POST', API.syncPush, { entries: [{ ...entry, clientId: randomUUID(), customerId: randomUUID() }] }, tokens.agent);
    expect(PushResponse.parse(foreign.json()).results[0]).toMatchObject({ status: 'rejected', error: 'customerId: no such customer' });
  });
});
