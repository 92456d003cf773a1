import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, type CustomerRecord } from '../../../shared/api.js';
import type { DerivedAttributes, UserRights } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import { decodeSnapshotPage, SNAPSHOT_COLUMNS, SNAPSHOT_FORMAT } from '../../../shared/snapshot-wire.js';
import { loadCustomerRecords } from '../customers/records.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import { createCustomerRecord, createTenant, type FixtureCustomer } from '../testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { readSnapshotTables, snapshotPageSql } from './snapshot-tables.js';

const DERIVED: DerivedAttributes = {
  computedAt: '2026-12-01T00:00:00.000Z',
  lastContactAt: { call: '2026-11-30T09:00:00.000Z' },
  contactCounts: { call: 3 },
  preferredChannel: 'call',
  preferredDayPart: 'morning',
  productsOfInterest: [{ productId: 'p-1', title: 'NISA', score: 4, ordered: false }],
  promotion: null,
};

/**
 * The snapshot's own read path (one range query per table, JSON written by the database) must
 * give exactly the records the general loader (customers/records.ts) gives, for every kind of
 * rights, while other tenants' customers interleave with the page's ids.
 */
describe.each(DIALECTS)('snapshot tables on %s', (dialect) => {
  let backend: TestBackend;
  let extra: FixtureCustomer[];
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    const { tenant, users } = backend.demo;
    // Another tenant's customers: random ids, so they fall between this tenant's.
    const other = await createTenant(backend.handle, { slug: 'other' });
    for (let i = 0; i < 12; i++) {
      await createCustomerRecord(backend.handle, other.id, {
        code: `O-${i}`,
        name: `Other ${i}`,
        phones: [{ e164: `+8131111${String(i).padStart(4, '0')}`, kind: 'landline' }],
        incidents: [{ title: 'Other', contacts: [{ summary: 'other tenant' }] }],
      });
    }
    extra = [];
    for (let i = 0; i < 12; i++) {
      extra.push(
        await createCustomerRecord(backend.handle, tenant.id, {
          code: `X-${i}`,
          name: `顧客 ${i}`,
          nameKana: i % 2 ? 'コキャク' : '',
          phones: Array.from({ length: i % 3 }, (_, p) => ({ e164: `+8190${String(i).padStart(4, '0')}${p}000`, kind: p ? 'mobile' : 'landline' }) as const),
          emails: Array.from({ length: i % 4 }, (_, e) => `x${i}.${e}@example.jp`),
          branch: i % 3 === 0 ? 'osaka' : null,
          assignedRepId: i % 2 ? users.agent.id : null,
          classification: ((i % 3) + 1) as 1 | 2 | 3,
          incidents: Array.from({ length: i % 3 }, (_, n) => ({
            title: `件名 ${n}`,
            status: n ? ('closed' as const) : ('open' as const),
            assigneeId: n ? users.supervisor.id : null,
            openedAt: `2026-0${n + 1}-01T00:00:00.000Z`,
            contacts: Array.from({ length: (i + n) % 4 }, (_, k) => ({
              kind: k % 2 ? ('call' as const) : ('note' as const),
              direction: k % 2 ? ('inbound' as const) : ('internal' as const),
              occurredAt: `2026-0${n + 1}-0${k + 2}T10:00:00.000+09:00`,
              agentId: k % 3 ? users.osakaAgent.id : null,
              summary: `"引用" \\ ${k}`,
              body: k ? `本文\n${'あ'.repeat(k * 50)}` : '',
              callMeta: k % 2 ? { from: '+81312345678', durationSeconds: 60 * k, answeredAt: null } : null,
            })),
          })),
        }),
      );
    }
    const now = new Date().toISOString();
    const [withDerived, withBadDerived, withBadCallMeta] = [extra[1], extra[2], extra[5]];
    await backend.handle.db
      .insertInto('customer_derived' as never)
      .values([
        { customer_id: withDerived?.id, tenant_id: tenant.id, attributes: JSON.stringify(DERIVED), computed_at: now },
        { customer_id: withBadDerived?.id, tenant_id: tenant.id, attributes: '{"computedAt":"yesterday"}', computed_at: now },
      ] as never)
      .execute();
    const contactId = withBadCallMeta?.contactIds[0];
    if (contactId === undefined) throw new Error('the fixture needs a contact');
    await sql`update contacts set call_meta = ${'not json'} where id = ${contactId}`.execute(backend.handle.db);
    // A contact filed under another customer's incident: its incident is in another page, or not visible.
    await sql`update contacts set customer_id = ${extra[8]?.id} where id = ${extra[7]?.contactIds[0]}`.execute(backend.handle.db);
  });
  afterAll(() => backend?.dispose());

  async function wholeSnapshot(token: string, limit: number): Promise<CustomerRecord[]> {
    const records: CustomerRecord[] = [];
    let query = `?limit=${limit}`;
    for (;;) {
      const response = await backend.get(`${API.syncSnapshot}${query}`, token);
      expect(response.statusCode, response.body).toBe(200);
      const json = response.json() as { format: unknown; tables: Record<string, { columns: unknown }> };
      expect(json.format).toBe(SNAPSHOT_FORMAT);
      expect(json.tables.contacts?.columns).toEqual(SNAPSHOT_COLUMNS.contacts);
      const page = decodeSnapshotPage(json);
      records.push(...page.records);
      if (page.nextAfter === null) return records;
      query = `?limit=${limit}&after=${encodeURIComponent(page.nextAfter)}&highWaterSeq=${page.highWaterSeq}`;
    }
  }

  async function expectedRecords(rights: UserRights): Promise<CustomerRecord[]> {
    const ids = await backend.handle.db.selectFrom('customers').select('id').where('tenant_id', '=', backend.demo.tenant.id).execute();
    const all = await loadCustomerRecords(
      backend.handle.db,
      backend.demo.tenant.id,
      ids.map((row) => row.id),
    );
    return all.filter((record) => maySeeCustomer(rights, record.customer));
  }

  const byId = (records: CustomerRecord[]) => [...records].sort((a, b) => (a.customer.id < b.customer.id ? -1 : 1));

  it.each([
    ['admin', 5, 'admin'],
    ['supervisor', 1, 'supervisor'],
    ['agent', 4, 'agent'],
    ['osaka', 2, 'osakaAgent'],
  ] as const)('gives %s exactly the records the general loader gives, in pages of %i', async (login, limit, user) => {
    const received = await wholeSnapshot(await backend.login(login), limit);
    const expected = await expectedRecords(backend.demo.users[user]);
    expect(expected.length).toBeGreaterThan(0);
    expect(byId(received)).toEqual(byId(expected));
    // Each page is in id order, with the database's collation: the cursor relies on it.
    expect(new Set(received.map((r) => r.customer.id)).size).toBe(received.length);
  });

  it('carries derived attributes and call details, and reads stored ones of another shape as none', async () => {
    const received = await wholeSnapshot(await backend.login('admin'), 100);
    const recordOf = (customer: FixtureCustomer | undefined) => received.find((r) => r.customer.id === customer?.id);
    expect(recordOf(extra[1])?.customer.derived).toEqual(DERIVED);
    expect(recordOf(extra[2])?.customer).not.toHaveProperty('derived');
    expect(recordOf(extra[5])?.contacts.find((c) => c.id === extra[5]?.contactIds[0])?.callMeta).toBeNull();
    expect(received.flatMap((r) => r.contacts).some((c) => c.callMeta?.durationSeconds === 60)).toBe(true);
  });

  it.runIf(dialect === 'postgres')('reads a page without JIT compilation and with room to sort in memory, for its transaction only', async () => {
    const { tenant, users } = backend.demo;
    const ids = (await backend.handle.db.selectFrom('customers').select('id').where('tenant_id', '=', tenant.id).orderBy('id').execute()).map((r) => r.id);
    const page = { tenantId: tenant.id, first: ids[0] ?? '', last: ids[ids.length - 1] ?? '', visible: visibleCustomerSql(users.admin, 'c') };
    const setting = async (db: typeof backend.handle.db, name: 'jit' | 'work_mem') =>
      (await sql<Record<string, string>>`select current_setting(${name}) as value`.execute(db)).rows[0]?.['value'];
    await backend.handle.db.transaction().execute(async (trx) => {
      // As a big page's estimates would: every query priced above the JIT threshold.
      await sql`set local jit = on`.execute(trx);
      await sql`set local jit_above_cost = 0`.execute(trx);
      const rows = await readSnapshotTables(trx, 'postgres', page);
      expect((JSON.parse(rows.toString()) as { customers: { rows: unknown[] } }).customers.rows).not.toHaveLength(0);
      expect(await setting(trx, 'jit')).toBe('off');
      expect(await setting(trx, 'work_mem')).toBe('32MB');
    });
    expect(await setting(backend.handle.db, 'work_mem')).toBe('4MB');
  });

  it.runIf(dialect === 'postgres')('reads every table by an index on the page\'s range of customer ids (a missing index fails)', async () => {
    const { tenant, users } = backend.demo;
    const ids = (await backend.handle.db.selectFrom('customers').select('id').where('tenant_id', '=', tenant.id).orderBy('id').execute()).map((r) => r.id);
    const query = snapshotPageSql(backend.handle.db, 'postgres', {
      tenantId: tenant.id,
      first: ids[0] ?? '',
      last: ids[ids.length - 1] ?? '',
      visible: visibleCustomerSql(users.osakaAgent, 'c'),
    });
    await backend.handle.db.transaction().execute(async (trx) => {
      // These tables are tiny, where a scan is cheapest; with scans priced out, a scan in the
      // plan means no index serves the range (a big tenant's plans: bench:sync prints them).
      await sql`set local enable_seqscan = off`.execute(trx);
      const plan = await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${query.sql}`, [...query.parameters]));
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      expect(text).not.toMatch(/Seq Scan/);
      for (const table of ['customers', 'customer_phones', 'customer_emails', 'incidents', 'contacts']) {
        expect(text, `an index of ${table}:\n${text}`).toMatch(new RegExp(`Index (Only )?Scan using \\w+ on ${table}\\b`));
      }
    });
  });
});
