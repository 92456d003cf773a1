import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API, ChangesPage } from '../../../shared/api.js';
import type { DerivedAttributes } from '../../../shared/domain.js';
import { PortalPageInput, webActivitySummary, type WebActivityBody } from '../../../shared/portal.js';
import { placeOrder } from '../portal/activity.js';
import { savePage } from '../portal/content.js';
import { currentSeq, writeTransaction } from '../sync/changelog.js';
import { insertContact, openIncidentTitled } from '../customers/writes.js';
import { createCustomerRecord } from '../testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { DerivedJobRunner, loadDerivedJobSchedule, runDerivedAttributes } from './job.js';
import { derivedDb, readDerivedAttributes } from './schema.js';

const TZ = 'Asia/Tokyo';
const OPTIONS = { batchSize: 50, timeZone: TZ };

/** The attributes without the time they were computed: what a rerun must reproduce. */
function values(attributes: DerivedAttributes | null | undefined) {
  if (!attributes) return null;
  const { computedAt: _computedAt, ...rest } = attributes;
  return rest;
}

describe.each(DIALECTS)('derived attributes on %s', (dialect) => {
  let backend: TestBackend;
  let tenantId: string;
  let adminToken: string;
  const products = { fund: '', bond: '' };
  const ids = { prospect: '', dealer: '', quiet: '' };

  const webBody = (kind: WebActivityBody['webActivity'], pageId: string, title: string): WebActivityBody => ({ webActivity: kind, pageId, title, target: null, positionSeconds: null });
  const stored = async (customerId: string) => {
    const row = await derivedDb(backend.handle.db).selectFrom('customer_derived').select('attributes').where('customer_id', '=', customerId).executeTakeFirst();
    return readDerivedAttributes(row?.attributes);
  };
  const resetJob = async () => {
    await derivedDb(backend.handle.db).deleteFrom('customer_derived').execute();
    await derivedDb(backend.handle.db).deleteFrom('derived_job_marks').execute();
  };
  const addContact = (customerId: string, kind: 'call' | 'email', direction: 'inbound' | 'outbound', occurredAt: string) =>
    writeTransaction(backend.handle, async (tx) => {
      const incidentId = await openIncidentTitled(tx, tenantId, customerId, 'お問い合わせ');
      return insertContact(tx, tenantId, { incidentId, customerId, kind, direction, occurredAt, agentId: null, summary: `${kind} ${direction}`, body: '', callMeta: null });
    });

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tenantId = backend.demo.tenant.id;
    adminToken = await backend.login('admin');
    products.fund = (await savePage(backend.handle.db, tenantId, null, PortalPageInput.parse({ kind: 'product', slug: 'fund-a', title: '投資信託 A', bodyMarkdown: 'A', priceYen: 10000 }))).id;
    products.bond = (await savePage(backend.handle.db, tenantId, null, PortalPageInput.parse({ kind: 'product', slug: 'bond-b', title: '債券 B', bodyMarkdown: 'B', priceYen: 5000 }))).id;
    const news = (await savePage(backend.handle.db, tenantId, null, PortalPageInput.parse({ kind: 'page', slug: 'news', title: 'お知らせ', bodyMarkdown: 'n' }))).id;
    const view = (pageId: string, title: string, occurredAt: string, kind: WebActivityBody['webActivity'] = 'page_view') => {
      const body = webBody(kind, pageId, title);
      return { kind: 'web' as const, direction: 'inbound' as const, occurredAt, summary: webActivitySummary(body), body: JSON.stringify(body) };
    };
    // A scripted history (times in UTC; Tokyo is 9 hours ahead): three morning calls in, one call
    // out, an evening mail, an internal note, and one afternoon of browsing on the web.
    ids.prospect = (
      await createCustomerRecord(backend.handle, tenantId, {
        code: 'D-0001',
        name: '見込 一郎',
        type: 'prospect',
        incidents: [
          {
            title: '資料請求',
            contacts: [
              { kind: 'call', direction: 'inbound', occurredAt: '2026-10-01T00:30:00.000Z' },
              { kind: 'call', direction: 'inbound', occurredAt: '2026-10-08T01:00:00.000Z' },
              { kind: 'call', direction: 'inbound', occurredAt: '2026-10-15T02:10:00.000Z' },
              { kind: 'call', direction: 'outbound', occurredAt: '2026-10-16T06:00:00.000Z' },
              { kind: 'email', direction: 'inbound', occurredAt: '2026-10-20T10:00:00.000Z' },
              { kind: 'note', direction: 'internal', occurredAt: '2026-10-21T10:00:00.000Z' },
            ],
          },
          {
            title: 'Webアクティビティ',
            contacts: [
              view(products.fund, '投資信託 A', '2026-10-25T05:00:00.000Z'),
              view(products.fund, '投資信託 A', '2026-10-25T05:05:00.000Z'),
              view(products.fund, '投資信託 A', '2026-10-25T05:06:00.000Z', 'hotspot_click'),
              view(products.bond, '債券 B', '2026-10-25T05:10:00.000Z'),
              view(news, 'お知らせ', '2026-10-25T05:11:00.000Z'),
            ],
          },
        ],
      })
    ).id;
    ids.dealer = (await createCustomerRecord(backend.handle, tenantId, { code: 'D-0002', name: '代理 商事', type: 'dealer' })).id;
    ids.quiet = (await createCustomerRecord(backend.handle, tenantId, { code: 'D-0003', name: '静 花子', type: 'new' })).id;
    await placeOrder(backend.handle, { tenantId, customerId: ids.prospect, rank: 1 }, { clientId: randomUUID(), productId: products.fund, quantity: 2, note: '' });
    await placeOrder(backend.handle, { tenantId, customerId: ids.dealer, rank: 1 }, { clientId: randomUUID(), productId: products.bond, quantity: 1, note: '' });
  });
  afterAll(async () => {
    await backend?.dispose();
  });

  it('derives the attributes of a scripted history, promotes the prospect, and sends them to the caches', async () => {
    await resetJob();
    const before = await currentSeq(backend.handle, tenantId);
    const result = await runDerivedAttributes(backend.handle, tenantId, OPTIONS);
    expect(result.caughtUp).toBe(true);

    const attributes = await stored(ids.prospect);
    const order = await backend.handle.db.selectFrom('contacts').select('occurred_at').where('customer_id', '=', ids.prospect).where('summary', 'like', '%注文%').executeTakeFirstOrThrow();
    expect(values(attributes)).toEqual({
      lastContactAt: { call: '2026-10-16T06:00:00.000Z', email: '2026-10-20T10:00:00.000Z', web: '2026-10-25T05:11:00.000Z', order: order.occurred_at },
      contactCounts: { call: 4, email: 1, web: 5, order: 1 },
      // Three calls in against two days on the web (the browsing afternoon and the order).
      preferredChannel: 'call',
      preferredDayPart: 'morning',
      productsOfInterest: [
        { productId: products.fund, title: '投資信託 A', score: 1 + 1 + 3 + 5, ordered: true },
        { productId: products.bond, title: '債券 B', score: 1, ordered: false },
      ],
      promotion: { from: 'prospect', to: 'existing', at: order.occurred_at },
    });
    const customers = await backend.handle.db.selectFrom('customers').select(['id', 'type']).where('id', 'in', [ids.prospect, ids.dealer, ids.quiet]).execute();
    expect(Object.fromEntries(customers.map((row) => [row.id, row.type]))).toEqual({ [ids.prospect]: 'existing', [ids.dealer]: 'dealer', [ids.quiet]: 'new' });
    expect((await stored(ids.dealer))?.promotion).toBeNull();
    // No contact and no order: nothing learned.
    expect(values(await stored(ids.quiet))).toEqual({ lastContactAt: {}, contactCounts: {}, preferredChannel: null, preferredDayPart: null, productsOfInterest: [], promotion: null });
    const audit = await backend.handle.db.selectFrom('audit_events').select(['action', 'details']).where('customer_id', '=', ids.prospect).where('action', '=', 'customer_type_promoted').execute();
    expect(audit.map((row) => JSON.parse(row.details) as unknown)).toEqual([{ from: 'prospect', to: 'existing', at: order.occurred_at, by: 'derived_attributes' }]);

    // Through the change log like any edit: the staff feed carries the customer with its attributes.
    const page = ChangesPage.parse((await backend.get(`${API.syncChanges}?after=${before}&limit=5000`, adminToken)).json());
    const sent = page.changes.find((change) => change.op === 'upsert_customer' && change.customer.id === ids.prospect);
    expect(sent?.op === 'upsert_customer' ? sent.customer : null).toMatchObject({ type: 'existing', derived: attributes });
    // …and under the classification rules: the agent (class 3 only) gets none of Acme's (class 1).
    const agentPage = ChangesPage.parse((await backend.get(`${API.syncChanges}?after=${before}&limit=5000`, await backend.login('agent'))).json());
    expect(agentPage.changes.some((change) => change.op === 'upsert_customer' && change.customer.id === backend.demo.customers.acme.id)).toBe(false);
    expect(page.changes.some((change) => change.op === 'upsert_customer' && change.customer.id === backend.demo.customers.acme.id)).toBe(true);
  });

  it('writes nothing when run again: same values, same change log', async () => {
    const attributes = await stored(ids.prospect);
    const seq = await currentSeq(backend.handle, tenantId);
    const again = await runDerivedAttributes(backend.handle, tenantId, OPTIONS);
    expect(again).toMatchObject({ changed: 0, promoted: 0, caughtUp: true });
    expect(await currentSeq(backend.handle, tenantId)).toBe(seq);
    expect(await stored(ids.prospect)).toEqual(attributes);
  });

  it('follows new contacts from its high-water mark, recomputing only the customers they name', async () => {
    await addContact(ids.quiet, 'email', 'inbound', '2026-11-01T11:00:00.000Z');
    await addContact(ids.quiet, 'email', 'inbound', '2026-11-02T12:00:00.000Z');
    const result = await runDerivedAttributes(backend.handle, tenantId, OPTIONS);
    expect(result).toMatchObject({ computed: 1, changed: 1, caughtUp: true });
    expect(values(await stored(ids.quiet))).toMatchObject({
      lastContactAt: { email: '2026-11-02T12:00:00.000Z' },
      contactCounts: { email: 2 },
      preferredChannel: 'email',
      preferredDayPart: 'evening',
    });
  });

  it('resumes after a run that died half-way and ends where a whole run ends', async () => {
    const whole = new Map<string, unknown>();
    for (const id of Object.values(ids)) whole.set(id, values(await stored(id)));
    await resetJob();

    // One batch of one customer, then a batch that fails inside its transaction (a bad time zone throws).
    const first = await runDerivedAttributes(backend.handle, tenantId, { batchSize: 1, timeZone: TZ, maxBatches: 1 });
    expect(first).toMatchObject({ batches: 1, caughtUp: false });
    const markAfterFirst = await derivedDb(backend.handle.db).selectFrom('derived_job_marks').selectAll().where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    const rowsAfterFirst = await derivedDb(backend.handle.db).selectFrom('customer_derived').select('customer_id').execute();
    await expect(runDerivedAttributes(backend.handle, tenantId, { batchSize: 50, timeZone: 'Not/A_Zone' })).rejects.toThrow();
    // The failed batch left nothing behind: same mark, same rows.
    expect(await derivedDb(backend.handle.db).selectFrom('derived_job_marks').selectAll().where('tenant_id', '=', tenantId).executeTakeFirstOrThrow()).toEqual(markAfterFirst);
    expect(await derivedDb(backend.handle.db).selectFrom('customer_derived').select('customer_id').execute()).toEqual(rowsAfterFirst);

    const rest = await runDerivedAttributes(backend.handle, tenantId, { batchSize: 2, timeZone: TZ });
    expect(rest.caughtUp).toBe(true);
    for (const id of Object.values(ids)) expect(values(await stored(id)), id).toEqual(whole.get(id));
    // The promotion happened once: the customer was already existing on the second pass.
    expect((await stored(ids.prospect))?.promotion).toMatchObject({ from: 'prospect', to: 'existing' });
    const audits = await backend.handle.db.selectFrom('audit_events').select('id').where('customer_id', '=', ids.prospect).where('action', '=', 'customer_type_promoted').execute();
    expect(audits).toHaveLength(1);
  });

  it('runs by itself shortly after a write (debounced), through the change feed', async () => {
    const updates = () => log.filter((line) => line.message === 'derived attributes updated');
    const log: { message: string }[] = [];
    const logger = {
      info: (_details: object, message: string) => log.push({ message }),
      warn: (_details: object, message: string) => log.push({ message }),
      error: (_details: object, message: string) => log.push({ message }),
    };
    const runner = new DerivedJobRunner(backend.handle, { ...OPTIONS, intervalMinutes: 0, debounceMs: 20 }, logger);
    try {
      await runner.start();
      await runner.runAll();
      const before = updates().length;
      await addContact(ids.dealer, 'call', 'inbound', '2026-11-05T23:30:00.000Z');
      await vi.waitFor(async () => expect((await stored(ids.dealer))?.contactCounts.call).toBe(1), { timeout: 10_000, interval: 50 });
      expect(updates().length).toBeGreaterThan(before);
    } finally {
      await runner.close();
    }
  });

  it('runs during a steady stream of writes closer together than its debounce, at most ten debounce periods after the first', async () => {
    const log: string[] = [];
    const logger = { info: (_details: object, message: string) => log.push(message), warn: () => {}, error: (_details: object, message: string) => log.push(message) };
    const runner = new DerivedJobRunner(backend.handle, { ...OPTIONS, intervalMinutes: 0, debounceMs: 40 }, logger);
    try {
      await runner.start();
      await runner.runAll();
      const before = log.length;
      // Each write comes well within the debounce of the one before, for far longer than ten
      // debounce periods (bounded): a debounce that restarts on every change never runs here.
      let writes = 0;
      let ranWhileWriting = false;
      while (writes < 300 && !ranWhileWriting) {
        await addContact(ids.quiet, 'email', 'inbound', '2026-11-06T01:00:00.000Z');
        writes += 1;
        ranWhileWriting = log.slice(before).includes('derived attributes updated');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(ranWhileWriting, `no run during ${writes} writes`).toBe(true);
      expect((await stored(ids.quiet))?.contactCounts.email).toBeGreaterThan(0);
    } finally {
      await runner.close();
    }
  });
});

describe('derived-attributes settings', () => {
  it('has defaults, and names the variable that is wrong', () => {
    expect(loadDerivedJobSchedule('Asia/Tokyo', {})).toEqual({ intervalMinutes: 15, debounceMs: 3000, batchSize: 200, timeZone: 'Asia/Tokyo' });
    expect(() => loadDerivedJobSchedule('Asia/Tokyo', { TSUNAGU_DERIVED_BATCH_SIZE: '0' })).toThrow(/TSUNAGU_DERIVED_BATCH_SIZE/);
  });
});
