import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CustomerRecord } from '../../../shared/api.js';
import { BranchCall } from '../../../shared/calls-for-you.js';
import type { Classification, Role, UserRights } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import { createMemoryLogger } from '../logger.js';
import { makeContact, makeCustomer, makeIncident, makeRecord } from '../testing/records.js';
import { CacheStore, SEARCH_SQL, prefixUpperBound } from './cache-store.js';
import { openCache, type CacheDb } from './open-cache.js';
import { rightsGrew, rightsShrank } from './visibility.js';

let dir: string;
let db: CacheDb;
let store: CacheStore;
let logger: ReturnType<typeof createMemoryLogger>;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-store-'));
  db = openCache(path.join(dir, 'cache.db'));
  logger = createMemoryLogger();
  store = new CacheStore(db, { logger, region: 'JP' });
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const yamada = makeRecord({
  code: 'C-000123',
  name: '山田 太郎',
  nameKana: 'ヤマダ タロウ',
  phones: [{ e164: '+81312345678', kind: 'landline' }],
  emails: ['taro.yamada@example.jp'],
  postalCode: '100-0001',
  address: '東京都千代田区千代田1-1',
});
const smith = makeRecord({
  code: 'C-000456',
  name: 'John Smith',
  nameKana: '',
  phones: [{ e164: '+819012345678', kind: 'mobile' }],
  emails: ['john.smith@example.com'],
  address: '大阪府大阪市北区梅田2-2',
});
const yamamoto = makeRecord({
  code: 'C-000789',
  name: '山本 花子',
  nameKana: 'ヤマモト ハナコ',
  address: '北海道札幌市中央区北1条',
});

function namesFor(query: string): string[] {
  return store.search(query).map((c) => c.name);
}

describe('CacheStore.search', () => {
  beforeEach(() => {
    store.upsertRecords([yamada, smith, yamamoto]);
  });

  it('finds a kana substring whatever the script of the query', () => {
    expect(namesFor('まだた')).toEqual(['山田 太郎']); // hiragana, crossing the word break
    expect(namesFor('ヤマダ')).toEqual(['山田 太郎']);
    expect(namesFor('ﾀﾛｳ')).toEqual(['山田 太郎']); // half-width katakana
    expect(namesFor('ハナコ')).toEqual(['山本 花子']);
  });

  it('finds a two-character kanji family name through the token index, not a scan', () => {
    expect(namesFor('山田')).toEqual(['山田 太郎']);
    expect(namesFor('山')).toEqual(['山田 太郎', '山本 花子']);

    const statements: [string, unknown[]][] = [
      [SEARCH_SQL.ridsByTokenPrefix, ['山田', prefixUpperBound('山田'), 300]],
      [SEARCH_SQL.customersByRids, ['[1, 2]']],
    ];
    for (const [sql, params] of statements) {
      const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
      const plan = rows.map((row) => row.detail);
      expect(plan.some((line) => /^SEARCH (customer_tokens|customers)/.test(line))).toBe(true);
      expect(plan.filter((line) => /^SCAN (customers|customer_tokens)\b/.test(line))).toEqual([]);
    }
  });

  it('finds a two-character substring from the middle of a reading or name', () => {
    expect(namesFor('まだ')).toEqual(['山田 太郎']); // マダ inside ヤマダ
    expect(namesFor('ﾛｳ')).toEqual(['山田 太郎']); // ロウ inside タロウ
    expect(namesFor('田')).toEqual(['山田 太郎']);
    expect(namesFor('花子')).toEqual(['山本 花子']); // a given name, not a prefix of the full name
  });

  it('finds latin names by prefix and substring, ignoring case', () => {
    expect(namesFor('jo')).toEqual(['John Smith']);
    expect(namesFor('SMI')).toEqual(['John Smith']);
    expect(namesFor('ｊｏｈｎ')).toEqual(['John Smith']); // full-width latin
  });

  it('finds e-mail addresses whole, by part and by local-part prefix', () => {
    expect(namesFor('taro.yamada@example.jp')).toEqual(['山田 太郎']);
    expect(namesFor('example.com')).toEqual(['John Smith']);
    expect(namesFor('ta')).toEqual(['山田 太郎']);
  });

  it('finds a partial e-mail address through its local part, checked against the whole', () => {
    const decoy = makeRecord({ name: 'Decoy', nameKana: '', emails: ['taro.yamada@example.com'] });
    store.upsertRecords([decoy]);
    expect(namesFor('yamada@example.jp')).toEqual(['山田 太郎']);
    expect(namesFor('yamada@example')).toEqual(['Decoy', '山田 太郎']);
    expect(namesFor('TARO.YAMADA@EXAMPLE.COM')).toEqual(['Decoy']);
    expect(namesFor('nobody@example.jp')).toEqual([]);
  });

  it('reaches every holder of an address shared by more customers than a page, each once', () => {
    // The kind of address bench:lookup sampled and "missed": a company's role address (or a
    // generated personal one) held by 40+ customers. The holder was on a later page, not lost.
    const holders = Array.from({ length: 45 }, (_, i) =>
      makeRecord({ code: `M-${String(i).padStart(3, '0')}`, name: `共有 試験${i}`, nameKana: `キョウユウ ${i}`, emails: [`Contact@maple-medical.example.co.jp`] }),
    );
    store.upsertRecords(holders);
    const seen: string[] = [];
    for (let offset = 0; ; offset += 30) {
      const page = store.searchPage('contact@maple-medical.example.co.jp', { limit: 30, offset });
      expect(page).toMatchObject({ total: 45, totalExact: true });
      if (page.customers.length === 0) break;
      seen.push(...page.customers.map((c) => c.id));
    }
    expect(seen).toHaveLength(45);
    expect(new Set(seen)).toEqual(new Set(holders.map((r) => r.customer.id)));
  });

  it('finds customer codes written with or without the hyphen', () => {
    expect(namesFor('C-000456')).toEqual(['John Smith']);
    expect(namesFor('c000456')).toEqual(['John Smith']);
    expect(namesFor('c0').sort()).toEqual(['John Smith', '山本 花子', '山田 太郎'].sort());
  });

  it('finds addresses by substring', () => {
    expect(namesFor('千代田区')).toEqual(['山田 太郎']);
    expect(namesFor('札幌')).toEqual([]); // two characters: names, kana, e-mail and codes only
    expect(namesFor('札幌市')).toEqual(['山本 花子']);
  });

  it('finds the same customer by a phone number written three ways, and by a partial number', () => {
    for (const written of ['03-1234-5678', '0312345678', '+81 3 1234 5678', '０３－１２３４－５６７８']) {
      expect(namesFor(written)).toEqual(['山田 太郎']);
    }
    // A partial number is a digit substring: both numbers end in 1234-5678.
    expect(namesFor('1234-5678')).toEqual(['John Smith', '山田 太郎']);
    expect(namesFor('90-1234')).toEqual(['John Smith']);
  });

  it('puts exact and prefix matches before substring matches, then orders by reading', () => {
    const hayashi = makeRecord({ name: '林 一郎', nameKana: 'ハヤシ イチロウ' });
    const obayashi = makeRecord({ name: '大林 一郎', nameKana: 'オオハヤシ イチロウ' });
    const hayashida = makeRecord({ name: '林田 一郎', nameKana: 'ハヤシダ イチロウ' });
    store.upsertRecords([obayashi, hayashida, hayashi]);
    // Whole word, then prefix, then substring.
    expect(namesFor('ハヤシ')).toEqual(['林 一郎', '林田 一郎', '大林 一郎']);
    // All match as a whole word: by reading.
    expect(namesFor('イチロウ')).toEqual(['大林 一郎', '林 一郎', '林田 一郎']);
    expect(namesFor('林田 一郎')).toEqual(['林田 一郎']);
  });

  it('counts every match, not only the page it returns, and pages by offset', () => {
    const records = Array.from({ length: 42 }, (_, i) => makeRecord({ code: `K-${String(i).padStart(3, '0')}`, name: `計数 試験${i}`, nameKana: 'ケイスウ シケン' }));
    store.upsertRecords(records);
    const first = store.searchPage('計数', { limit: 30 });
    expect(first).toMatchObject({ total: 42, totalExact: true });
    expect(first.customers).toHaveLength(30);
    const second = store.searchPage('計数', { limit: 30, offset: 30 });
    expect(second).toMatchObject({ total: 42, totalExact: true });
    expect(second.customers).toHaveLength(12);
    const shown = new Set([...first.customers, ...second.customers].map((c) => c.code));
    expect(shown.size).toBe(42);
  });

  it('says the count is a lower bound when the index stopped before the end', () => {
    const records = Array.from({ length: 150 }, (_, i) => makeRecord({ code: `L-${String(i).padStart(3, '0')}`, name: `大量 試験${i}`, nameKana: 'タイリョウ' }));
    store.upsertRecords(records);
    // 100 candidates are ranked for a 25-result page: 150 matches cannot all be counted.
    const page = store.searchPage('大量', { limit: 25 });
    expect(page.customers).toHaveLength(25);
    expect(page.totalExact).toBe(false);
    expect(page.total).toBeGreaterThanOrEqual(100);
    expect(page.total).toBeLessThan(150);
  });

  it('returns nothing for a blank query and honours the limit', () => {
    expect(store.search('   ')).toEqual([]);
    expect(store.search('c0', 2)).toHaveLength(2);
  });

  it('keeps the derived attributes the feed sends with a customer (cache migration 003)', () => {
    expect(store.getDetail(yamada.customer.id)?.customer.derived).toBeUndefined();
    const derived = {
      computedAt: '2026-12-01T00:00:00.000Z',
      lastContactAt: { call: '2026-11-30T01:00:00.000Z' },
      contactCounts: { call: 3 },
      preferredChannel: 'call' as const,
      preferredDayPart: 'morning' as const,
      productsOfInterest: [],
      promotion: null,
    };
    store.applyChanges([{ seq: 1, op: 'upsert_customer', customer: { ...yamada.customer, type: 'existing', derived } }]);
    expect(store.getDetail(yamada.customer.id)?.customer).toMatchObject({ type: 'existing', derived });
    // A customer sent without them (an older backend) has none any more, rather than stale ones.
    store.applyChanges([{ seq: 2, op: 'upsert_customer', customer: yamada.customer }]);
    expect(store.getDetail(yamada.customer.id)?.customer.derived).toBeUndefined();
  });

  it('forgets old names and numbers when a customer changes, and everything when it is deleted', () => {
    store.applyChanges([
      {
        seq: 1,
        op: 'upsert_customer',
        customer: { ...yamada.customer, name: '田中 太郎', nameKana: 'タナカ タロウ', phones: [] },
      },
    ]);
    expect(namesFor('山田')).toEqual([]);
    expect(namesFor('ヤマダ')).toEqual([]);
    expect(namesFor('0312345678')).toEqual([]);
    expect(namesFor('田中')).toEqual(['田中 太郎']);
    expect(store.getDetail(yamada.customer.id)?.incidents).toHaveLength(1);

    store.applyChanges([{ seq: 2, op: 'delete_customer', customerId: yamada.customer.id }]);
    expect(namesFor('田中')).toEqual([]);
    expect(namesFor('taro')).toEqual([]);
    expect(store.getDetail(yamada.customer.id)).toBeNull();
    expect(db.prepare('SELECT count(*) FROM incidents WHERE customer_id = ?').pluck().get(yamada.customer.id)).toBe(0);
    expect(db.prepare('SELECT count(*) FROM contacts WHERE customer_id = ?').pluck().get(yamada.customer.id)).toBe(0);
  });

  it('logs slow queries with their duration and the query length only', () => {
    const verbose = new CacheStore(db, { logger, slowQueryMs: 0 });
    verbose.search('山田 太郎');
    const entry = logger.entries.find((e) => e.message === 'slow cache search');
    expect(entry?.level).toBe('warn');
    expect(Object.keys(entry?.fields ?? {}).sort()).toEqual(['durationMs', 'queryLength', 'results']);
    expect(entry?.fields?.queryLength).toBe(5);
    expect(JSON.stringify(logger.entries)).not.toContain('山田');
  });
});

describe('CacheStore.bulkTransaction', () => {
  it('writes records without SQLite foreign keys, yet refuses a contact or an incident that refers to nothing cached, writing nothing of the page', () => {
    const count = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get();
    const first = makeRecord();
    store.bulkTransaction(() => store.upsertRecords([first], { deferSearchIndex: true }));
    const incident = first.incidents[0]!;
    // A contact of an incident cached by an earlier page is fine.
    const later = makeRecord();
    const movedContact = { ...makeContact(incident), customerId: later.customer.id };
    store.bulkTransaction(() => store.upsertRecords([{ ...later, contacts: [...later.contacts, movedContact] }]));
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const before = [count('customers'), count('incidents'), count('contacts')];

    const orphanContact = makeRecord();
    orphanContact.contacts.push({ ...makeContact(makeIncident(orphanContact.customer.id)), customerId: orphanContact.customer.id });
    expect(() => store.bulkTransaction(() => store.upsertRecords([makeRecord(), orphanContact]))).toThrow(/FOREIGN KEY.*neither in the record nor cached/);
    const orphanIncident = { ...makeRecord(), incidents: [makeIncident('no-such-customer')], contacts: [] };
    expect(() => store.bulkTransaction(() => store.upsertRecords([orphanIncident]))).toThrow(/FOREIGN KEY.*no-such-customer/);
    expect([count('customers'), count('incidents'), count('contacts')]).toEqual(before);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('leaves an existing customer in the search index when a deferred page writes it again (the build may have passed its rid)', () => {
    const record = makeRecord({ name: '長谷川 一郎', nameKana: 'ハセガワ イチロウ' });
    store.upsertRecords([record]);
    store.bulkTransaction(() => store.upsertRecords([{ ...record, customer: { ...record.customer, name: '長谷川 一朗' } }], { deferSearchIndex: true }));
    expect(store.search('長谷川 一朗').map((customer) => customer.id)).toEqual([record.customer.id]);
    expect(store.search('ハセ').map((customer) => customer.id)).toEqual([record.customer.id]);
  });

  it('indexes a deferred page only in the build (in batches, rerunnable), which ends with exactly the search results and token rows of a page written without deferral', () => {
    const indexRows = () => ({
      tokens: db.prepare('SELECT token, customer_rid FROM customer_tokens ORDER BY 1, 2').all(),
      remembered: db.prepare('SELECT rid, search_tokens_json FROM customers ORDER BY rid').all(),
    });
    const records = [
      makeRecord({ name: '長谷川 一郎', nameKana: 'ハセガワ イチロウ' }),
      makeRecord({ name: '小林 花子', nameKana: 'コバヤシ ハナコ' }),
      makeRecord({ name: '長谷部 誠', nameKana: 'ハセベ マコト' }),
    ];
    store.upsertRecords(records);
    const direct = indexRows();
    store.clearSyncedData();

    store.bulkTransaction(() => store.upsertRecords(records, { deferSearchIndex: true }));
    expect(store.search('長谷川')).toEqual([]);
    expect(store.search('ハセ')).toEqual([]);
    const firstRid = (db.prepare('SELECT min(rid) FROM customers').pluck().get() as number) - 1;
    // Two batches, then a rerun over rids already done: nothing changes.
    const last = store.indexCustomersAfter(firstRid, 2);
    expect(store.indexCustomersAfter(last!, 2)).toBe(firstRid + 3);
    expect(store.indexCustomersAfter(firstRid + 3, 2)).toBeNull();
    store.indexCustomersAfter(firstRid, 3);
    expect(store.search('ハセ').map((customer) => customer.id).sort()).toEqual([records[0]!.customer.id, records[2]!.customer.id].sort());
    expect(store.search('長谷川').map((customer) => customer.id)).toEqual([records[0]!.customer.id]);
    expect(store.search('小林 花子').map((customer) => customer.id)).toEqual([records[1]!.customer.id]);
    const deferred = indexRows();
    const shift = (rows: typeof direct, by: number) => ({
      tokens: (rows.tokens as { token: string; customer_rid: number }[]).map((row) => ({ ...row, customer_rid: row.customer_rid - by })),
      remembered: (rows.remembered as { rid: number; search_tokens_json: string }[]).map((row) => ({ ...row, rid: row.rid - by })),
    });
    const directFirst = (direct.remembered as { rid: number }[])[0]!.rid;
    expect(shift(deferred, firstRid + 1)).toEqual(shift(direct, directFirst));
  });

  it('indexes a customer that a deferred page of an older version left without tokens and trigrams', () => {
    const record = makeRecord({ name: '長谷川 一郎', nameKana: 'ハセガワ イチロウ' });
    store.bulkTransaction(() => store.upsertRecords([record], { deferSearchIndex: true }));
    const rid = db.prepare('SELECT rid FROM customers WHERE id = ?').pluck().get(record.customer.id) as number;
    db.prepare('DELETE FROM customer_fts WHERE rowid = ?').run(rid);
    db.prepare(`UPDATE customers SET search_tokens_json = '[]' WHERE rid = ?`).run(rid);
    expect(store.search('長谷川')).toEqual([]);
    expect(store.indexCustomersAfter(rid - 1, 10)).toBe(rid);
    expect(store.search('長谷川').map((customer) => customer.id)).toEqual([record.customer.id]);
    expect(store.search('ハセ').map((customer) => customer.id)).toEqual([record.customer.id]);
  });
});

describe('CacheStore.countCustomers', () => {
  it('keeps the count current through inserts, updates, deletes, purges and a reset', () => {
    const count = () => db.prepare('SELECT count(*) FROM customers').pluck().get();
    expect(store.countCustomers()).toBe(0);
    const records = [makeRecord({ classification: 1 }), makeRecord(), makeRecord()];
    store.upsertRecords(records);
    store.upsertRecords(records.slice(0, 2));
    expect(store.countCustomers()).toBe(3);
    store.applyChanges([
      { seq: 1, op: 'delete_customer', customerId: records[2]!.customer.id },
      { seq: 2, op: 'delete_customer', customerId: 'not-cached' },
    ]);
    expect([store.countCustomers(), count()]).toEqual([2, 2]);
    expect(() =>
      store.upsertRecords([makeRecord(), { ...makeRecord(), incidents: [makeIncident('no-such-customer')] }]),
    ).toThrow(/FOREIGN KEY/);
    expect(store.countCustomers()).toBe(2);
    store.purgeInvisible({ role: 'agent', branch: null, customerLimitAuthority: 2, mayHandleUnregisteredCallers: false });
    expect([store.countCustomers(), count()]).toEqual([1, 1]);
    store.clearSyncedData();
    expect([store.countCustomers(), count()]).toEqual([0, 0]);
  });
});

describe('CacheStore.mergeSearchIndexStep', () => {
  it('merges the trigram index of a bulk load step by step, and search still finds everything', () => {
    const records = Array.from({ length: 600 }, (_, i) => makeRecord({ code: `M-${i}`, name: `統合 試験${i}`, nameKana: `トウゴウ シケン${i}` }));
    // Many small transactions leave many index segments, as a paged snapshot does.
    for (let i = 0; i < records.length; i += 10) store.upsertRecords(records.slice(i, i + 10));
    const segments = () => db.prepare('SELECT count(DISTINCT segid) FROM customer_fts_idx').pluck().get() as number;
    expect(segments()).toBeGreaterThan(1);
    let steps = 0;
    while (store.mergeSearchIndexStep(20)) steps++;
    expect(steps).toBeGreaterThan(0);
    expect(segments()).toBe(1);
    expect(store.search('シケン599').map((c) => c.code)).toEqual(['M-599']);
    expect(store.search('統合', 100)).toHaveLength(100);
  });

  it('merges nothing while a deferred build writes, then merges once to exactly the index merged as it was written, and restores FTS5\'s defaults', () => {
    const config = () => Object.fromEntries((db.prepare('SELECT k, v FROM customer_fts_config').all() as { k: string; v: number }[]).map((row) => [row.k, row.v]));
    const segments = () => db.prepare('SELECT count(DISTINCT segid) FROM customer_fts_idx').pluck().get() as number;
    const records = Array.from({ length: 300 }, (_, i) => makeRecord({ code: `D-${i}`, name: `遅延 索引${i}`, nameKana: `チエン サクイン${i}`, address: `東京都港区${i}丁目` }));
    const queries = ['サクイン29', '遅延', '港区1', 'D-2', '索引299', 'チエ'];
    const results = () => queries.map((query) => store.search(query, 500).map((c) => c.code).sort());
    for (let i = 0; i < records.length; i += 10) store.upsertRecords(records.slice(i, i + 10));
    while (store.mergeSearchIndexStep(20));
    const mergedAsWritten = results();
    store.clearSyncedData();

    store.bulkTransaction(() => store.upsertRecords(records, { deferSearchIndex: true }));
    store.setSearchIndexMerging('deferred');
    expect(config()).toMatchObject({ automerge: 0, crisismerge: 1000, hashsize: 8 * 1024 * 1024 });
    const firstRid = (db.prepare('SELECT min(rid) FROM customers').pluck().get() as number) - 1;
    for (let last: number | null = firstRid; last !== null; ) last = store.indexCustomersAfter(last, 10);
    // One segment per batch at least: none was merged on the way.
    expect(segments()).toBeGreaterThanOrEqual(30);
    store.setSearchIndexMerging('incremental');
    expect(config()).toMatchObject({ automerge: 4, crisismerge: 16, hashsize: 1024 * 1024 });
    while (store.mergeSearchIndexStep(20));
    expect(segments()).toBe(1);
    expect(results()).toEqual(mergedAsWritten);
    expect(results()[0]).toEqual(['D-29', 'D-290', 'D-291', 'D-292', 'D-293', 'D-294', 'D-295', 'D-296', 'D-297', 'D-298', 'D-299']);
    // A build abandoned with the synced data does not leave the index unmerged for good.
    store.setSearchIndexMerging('deferred');
    store.clearSyncedData();
    expect(config()).toMatchObject({ automerge: 4, crisismerge: 16, hashsize: 1024 * 1024 });
  });
});

describe('CacheStore reads', () => {
  it('finds customers by E.164 and returns the detail newest first, pending notes included', () => {
    const customer = makeCustomer({ phones: [{ e164: '+81612345678', kind: 'landline' }] });
    const older = makeIncident(customer.id, { openedAt: '2024-01-01T00:00:00.000Z' });
    const newer = makeIncident(customer.id, { openedAt: '2024-03-01T00:00:00.000Z' });
    const record: CustomerRecord = {
      customer,
      incidents: [older, newer],
      contacts: [
        makeContact(older, { occurredAt: '2024-01-02T00:00:00.000Z', summary: 'first' }),
        makeContact(newer, { occurredAt: '2024-03-02T00:00:00.000Z', summary: 'second' }),
      ],
    };
    store.upsertRecords([record]);
    const note = makeContact(older, { id: randomUUID(), kind: 'note', occurredAt: '2024-05-01T00:00:00.000Z', summary: 'pending' });
    store.addPendingNote(
      { type: 'add_note', clientId: note.id, incidentId: older.id, body: 'pending', createdAt: note.occurredAt },
      note,
    );

    expect(store.findByPhone('+81612345678').map((c) => c.id)).toEqual([customer.id]);
    expect(store.findByPhone('+81600000000')).toEqual([]);
    const detail = store.getDetail(customer.id);
    expect(detail?.customer).toEqual(customer);
    expect(detail?.incidents.map((i) => i.id)).toEqual([newer.id, older.id]);
    expect(detail?.contacts.map((c) => [c.summary, c.pending])).toEqual([
      ['pending', true],
      ['second', false],
      ['first', false],
    ]);
  });
});

describe('CacheStore outbox', () => {
  function addNote(body: string) {
    const record = makeRecord();
    store.upsertRecords([record]);
    const incident = record.incidents[0]!;
    const clientId = randomUUID();
    const contact = makeContact(incident, { id: clientId, kind: 'note', body, summary: body });
    store.addPendingNote({ type: 'add_note', clientId, incidentId: incident.id, body, createdAt: contact.occurredAt }, contact);
    return { record, clientId };
  }

  it('gives an applied note the server contact id and keeps rejected notes with their error', () => {
    const applied = addNote('applied');
    const rejected = addNote('rejected');
    expect(store.outboxCounts()).toEqual({ pending: 2, rejected: 0, firstRejectedError: null });
    expect(store.pendingOutbox(10).map((row) => row.clientId)).toEqual([applied.clientId, rejected.clientId]);

    const serverId = randomUUID();
    store.recordPushResults([
      { clientId: applied.clientId, status: 'applied', contactId: serverId, error: null },
      { clientId: rejected.clientId, status: 'rejected', contactId: null, error: 'incident is closed' },
    ]);
    expect(store.outboxCounts()).toEqual({ pending: 0, rejected: 1, firstRejectedError: 'incident is closed' });
    expect(store.rejectedOutbox().map((row) => row.clientId)).toEqual([rejected.clientId]);
    const contacts = store.getDetail(applied.record.customer.id)?.contacts ?? [];
    expect(contacts.filter((c) => c.body === 'applied').map((c) => [c.id, c.pending])).toEqual([[serverId, false]]);

    // The feed's later upsert of the same contact overwrites instead of duplicating.
    const serverCopy = { ...contacts.find((c) => c.id === serverId)!, summary: 'from server' };
    const { pending: _pending, ...serverContact } = serverCopy;
    store.applyChanges([{ seq: 9, op: 'upsert_contact', contact: serverContact }]);
    const after = store.getDetail(applied.record.customer.id)?.contacts ?? [];
    expect(after.filter((c) => c.body === 'applied').map((c) => c.summary)).toEqual(['from server']);
  });

  it('drops the pending copy when the server copy arrived first', () => {
    const { record, clientId } = addNote('raced');
    const serverContact = makeContact(record.incidents[0]!, { kind: 'note', body: 'raced' });
    store.applyChanges([{ seq: 1, op: 'upsert_contact', contact: serverContact }]);
    store.recordPushResults([{ clientId, status: 'duplicate', contactId: serverContact.id, error: null }]);
    const notes = (store.getDetail(record.customer.id)?.contacts ?? []).filter((c) => c.body === 'raced');
    expect(notes.map((c) => [c.id, c.pending])).toEqual([[serverContact.id, false]]);
  });
});

describe('CacheStore.purgeInvisible', () => {
  const classifications: Classification[] = [1, 2, 3];
  const branches = [null, 'tokyo', 'osaka'];
  const allCustomers = classifications.flatMap((classification) =>
    branches.map((branch) => makeRecord({ classification, branch, name: `顧客${classification}${branch ?? 'all'}` })),
  );
  const roles: Role[] = ['agent', 'supervisor', 'admin'];
  const allRights: UserRights[] = roles.flatMap((role) =>
    branches.flatMap((branch) =>
      classifications.map((customerLimitAuthority) => ({
        role,
        branch,
        customerLimitAuthority,
        mayHandleUnregisteredCallers: false,
      })),
    ),
  );

  it.each(allRights.map((rights) => [JSON.stringify(rights), rights] as const))(
    'keeps exactly what maySeeCustomer allows for %s',
    (_name, rights) => {
      store.upsertRecords(allCustomers);
      const expected = allCustomers.filter((r) => maySeeCustomer(rights, r.customer)).map((r) => r.customer.id);
      const deleted = store.purgeInvisible(rights);

      const remaining = db.prepare('SELECT id FROM customers').pluck().all() as string[];
      expect(remaining.sort()).toEqual([...expected].sort());
      expect(deleted).toBe(allCustomers.length - expected.length);
      const orphans = db
        .prepare(
          `SELECT (SELECT count(*) FROM incidents WHERE customer_id NOT IN (SELECT id FROM customers))
                + (SELECT count(*) FROM contacts WHERE customer_id NOT IN (SELECT id FROM customers))
                + (SELECT count(*) FROM customer_tokens WHERE customer_rid NOT IN (SELECT rid FROM customers))
                + (SELECT count(*) FROM customer_phones WHERE customer_rid NOT IN (SELECT rid FROM customers))`,
        )
        .pluck()
        .get();
      expect(orphans).toBe(0);
      for (const record of allCustomers) {
        const found = store.search(record.customer.name).some((c) => c.id === record.customer.id);
        expect(found).toBe(expected.includes(record.customer.id));
      }
    },
  );

  it('rightsShrank and rightsGrew agree with maySeeCustomer on every pair of rights', () => {
    const visible = (rights: UserRights) => new Set(allCustomers.filter((r) => maySeeCustomer(rights, r.customer)));
    for (const before of allRights) {
      for (const after of allRights) {
        const lost = [...visible(before)].some((r) => !visible(after).has(r));
        const gained = [...visible(after)].some((r) => !visible(before).has(r));
        expect(rightsShrank(before, after), `${JSON.stringify(before)} → ${JSON.stringify(after)}`).toBe(lost);
        expect(rightsGrew(before, after), `${JSON.stringify(before)} → ${JSON.stringify(after)}`).toBe(gained);
      }
    }
  });
});

describe('prefixUpperBound', () => {
  it('bounds exactly the strings that start with the prefix', () => {
    const bound = prefixUpperBound('山田');
    expect('山田' < bound && '山田太郎' < bound && '山田\u{10FFFF}' < bound).toBe(true);
    expect('山男' >= bound).toBe(true);
    expect(prefixUpperBound('a\u{D7FF}')).toBe('a\u{E000}');
  });
});

describe('cached calls for you', () => {
  const missed: BranchCall = {
    key: 'call-1',
    startedAt: '2026-12-07T09:00:00.000Z',
    outcome: 'ringing',
    remote: '+81312345678',
    customer: { id: 'cust-1', code: 'C-000123', name: '山田 太郎', branch: '渋谷支店', assignedRep: null, classification: 3 },
    answeredBy: null,
    receivedBy: [{ id: 'user-1', name: '佐藤 花子', branch: '渋谷支店' }],
    handled: null,
  };
  const user = { id: 'user-1', role: 'agent' as const, branch: '渋谷支店', customerLimitAuthority: 3 as const, mayHandleUnregisteredCallers: false };
  const now = new Date('2026-12-07T10:00:00.000Z');

  it('parses a stored call once while its text stays the same, and afresh once it is rewritten (issue 13 item 7)', () => {
    const handled = { at: '2026-12-07T08:10:00.000Z', by: { id: 'user-1', name: '佐藤 花子' }, kind: 'contact' as const, contactId: null };
    store.upsertBranchCalls([missed, { ...missed, key: 'call-2', startedAt: '2026-12-07T08:00:00.000Z', handled }]);
    const parse = vi.spyOn(BranchCall, 'safeParse');
    const listed = (since: string) => store.listedBranchCalls(user, 'mine', since, now);
    try {
      expect(listed('2026-12-07T00:00:00.000Z').map((call) => call.key)).toEqual(['call-1', 'call-2']);
      expect(parse).toHaveBeenCalledTimes(2);
      // The next read (every sync pass asks again) parses nothing that did not change.
      expect(listed('2026-12-07T00:00:00.000Z')).toHaveLength(2);
      expect(parse).toHaveBeenCalledTimes(2);

      store.applyChanges([{ seq: 1, op: 'upsert_branch_call', call: { ...missed, outcome: 'missed' } }]);
      const after = listed('2026-12-07T00:00:00.000Z');
      expect(after.map((call) => [call.key, call.outcome])).toEqual([['call-1', 'missed'], ['call-2', 'ringing']]);
      // A handled call from before the sign-in is history.
      expect(parse).toHaveBeenCalledTimes(3);
      expect(listed('2026-12-07T08:30:00.000Z').map((call) => call.key)).toEqual(['call-1']);
    } finally {
      parse.mockRestore();
    }
  });
});
