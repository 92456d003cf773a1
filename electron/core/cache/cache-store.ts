import type { Statement } from 'better-sqlite3-multiple-ciphers';
import type { CountryCode } from 'libphonenumber-js';
import type { Change, CustomerRecord, CustomerSummary, OutboxEntry, PushResponse } from '../../../shared/api.js';
import { BranchCall } from '../../../shared/calls-for-you.js';
import { DerivedAttributes, type Contact, type Customer, type Incident, type User, type UserRights } from '../../../shared/domain.js';
import type { CachedContact } from '../../../shared/ipc.js';
import { mayHoldBranchCall, type CallsForYouScope } from '../../../shared/permissions.js';
import { DEFAULT_REGION, toE164 } from '../../../shared/phone.js';
import { assertNever } from '../../../shared/result.js';
import { codePointLength, normaliseForSearch, searchTokens } from '../../../shared/search-text.js';
import type { Logger } from '../logger.js';
import { customerFtsText, customerSortKana, customerTokens, indexCustomer, type CustomerIndexEntry, type CustomerSearchFields } from './customer-index.js';
import type { CacheDb } from './open-cache.js';
import { readStoredJson } from './stored-json.js';
import { listedBranchCallsWhere } from './calls-for-you-sql.js';
import { invisibleCustomersWhere } from './visibility.js';

export const DEFAULT_SEARCH_LIMIT = 30;
/** Meta key of the number of cached customers (set to 0 by the first migration). */
export const CUSTOMER_COUNT_KEY = 'cache.customerCount';
/** Queries slower than this are logged with their duration. */
export const SLOW_QUERY_MS = 40;
/**
 * How many index matches a search ranks per result it returns (at least MIN_SEARCH_CANDIDATES).
 * Ranking every match of a one-character query over a million customers would defeat the
 * index; matches beyond these are still reachable by typing one more character.
 */
const CANDIDATES_PER_RESULT = 4;
const MIN_SEARCH_CANDIDATES = 100;
/** FTS5's defaults (sqlite.org/fts5.html, "FTS5 Configuration Options"), restored after a deferred build. */
const FTS_DEFAULT_AUTOMERGE = 4;
const FTS_DEFAULT_CRISISMERGE = 16;
const FTS_DEFAULT_HASHSIZE = 1024 * 1024;
/** Segments of one level a deferred build may leave before FTS5 must merge them (see setSearchIndexMerging). */
const FTS_DEFERRED_CRISISMERGE = 1000;
const FTS_DEFERRED_HASHSIZE = 8 * 1024 * 1024;

export interface CacheSearchPage {
  customers: CustomerSummary[];
  /** Matches found; a lower bound when `totalExact` is false. */
  total: number;
  totalExact: boolean;
}

export interface CustomerDetailRecord {
  customer: Customer;
  incidents: Incident[];
  contacts: CachedContact[];
}

export interface OutboxRow {
  seq: number;
  clientId: string;
  entry: OutboxEntry;
  status: 'pending' | 'rejected';
  error: string | null;
  attempts: number;
}

export interface OutboxCounts {
  pending: number;
  rejected: number;
  /** Error of the oldest rejected entry, for the status line. */
  firstRejectedError: string | null;
}

export interface CacheStoreOptions {
  /** Default region of the tenant, for numbers typed without a country code. */
  region?: CountryCode;
  logger: Logger;
  /** Reads slower than this many milliseconds are logged; SLOW_QUERY_MS by default. */
  slowQueryMs?: number;
}

interface CustomerRow {
  rid: number;
  id: string;
  code: string;
  name: string;
  name_kana: string;
  phones_json: string;
  emails_json: string;
  postal_code: string;
  address: string;
  branch: string | null;
  assigned_rep_id: string | null;
  assigned_rep_name: string | null;
  classification: number;
  type: string;
  updated_at: string;
  sort_kana: string;
  search_tokens_json: string;
  /** DerivedAttributes JSON (cache migration 003); null until the backend sent some. */
  derived_json: string | null;
}

interface IncidentRow {
  id: string;
  customer_id: string;
  title: string;
  status: string;
  assignee_id: string | null;
  assignee_name: string | null;
  opened_at: string;
  closed_at: string | null;
  updated_at: string;
}

interface ContactRow {
  id: string;
  incident_id: string;
  customer_id: string;
  kind: string;
  direction: string;
  occurred_at: string;
  agent_id: string | null;
  agent_name: string | null;
  summary: string;
  body: string;
  call_meta_json: string | null;
  pending: number;
}

const CUSTOMER_COLUMNS = `rid, id, code, name, name_kana, phones_json, emails_json, postal_code, address, branch,
  assigned_rep_id, assigned_rep_name, classification, type, updated_at, sort_kana, search_tokens_json, derived_json`;

/** The statements of `search`, exported so tests can check their query plans. */
export const SEARCH_SQL = {
  ridsByFts: 'SELECT rowid AS rid FROM customer_fts WHERE customer_fts MATCH ? LIMIT ?',
  ridsByTokenPrefix: 'SELECT DISTINCT customer_rid AS rid FROM customer_tokens WHERE token >= ? AND token < ? LIMIT ?',
  customersByRids: `SELECT ${CUSTOMER_COLUMNS} FROM customers WHERE rid IN (SELECT value FROM json_each(?))`,
} as const;

/** Search ranks: lower is better. */
const RANK_EXACT = 0;
const RANK_WORD = 1;
const RANK_PREFIX = 2;
const RANK_SUBSTRING = 3;

/**
 * All reads and writes of the local cache. Synchronous (better-sqlite3): every method is a
 * few indexed statements, except the bulk writes, which the sync engine runs in a worker.
 */
export class CacheStore {
  readonly db: CacheDb;
  readonly #region: CountryCode;
  readonly #logger: Logger;
  readonly #slowQueryMs: number;
  readonly #s: ReturnType<typeof prepareStatements>;
  #customerCountDelta = 0;

  constructor(db: CacheDb, options: CacheStoreOptions) {
    this.db = db;
    this.#region = options.region ?? DEFAULT_REGION;
    this.#logger = options.logger;
    this.#slowQueryMs = options.slowQueryMs ?? SLOW_QUERY_MS;
    this.#s = prepareStatements(db);
  }

  // ---- writes -------------------------------------------------------------------------------

  /**
   * Writes whole customer records (snapshot pages, bulk loads) in one transaction. With
   * `deferSearchIndex` new customers go into neither the trigram index nor the token index
   * (1–2 character queries): their tokens are only remembered in `search_tokens_json`, and a
   * first sync into an empty cache indexes them with `indexCustomersAfter`, in rid order after
   * its last page. Phone and e-mail lookups work at once either way.
   */
  upsertRecords(records: readonly CustomerRecord[], options: { deferSearchIndex?: boolean } = {}): void {
    this.#countingTransaction(() => {
      for (const record of records) {
        this.#checkReferences(record);
        this.#upsertCustomer(record.customer, options.deferSearchIndex ?? false);
        for (const incident of record.incidents) this.#writeIncident(incident);
        for (const contact of record.contacts) this.#writeContact(contact);
      }
    });
  }

  /**
   * Runs `work` in one transaction with SQLite's foreign-key enforcement off on this connection:
   * it made each incident and contact of a first sync three times as costly to write (two
   * index lookups per row; bench:sync). Safe for `upsertRecords`, which checks the same
   * references itself, and for meta writes. Important: nothing in `work` may rely on ON DELETE
   * CASCADE (purges); run those in an ordinary transaction.
   */
  bulkTransaction<T>(work: () => T): T {
    // The pragma is a no-op inside a transaction, so it is set around it.
    this.db.pragma('foreign_keys = OFF');
    try {
      return this.db.transaction(work)();
    } finally {
      this.db.pragma('foreign_keys = ON');
    }
  }

  /**
   * The references SQLite's foreign keys would check, in code (see `bulkTransaction`): a
   * record's incidents belong to a cached customer (normally its own), its contacts to an
   * incident of the record or a cached one. Fails as SQLite would, before anything is written.
   */
  #checkReferences(record: CustomerRecord): void {
    const s = this.#s;
    const ownId = record.customer.id;
    const incidentIds = new Set<string>();
    for (const incident of record.incidents) {
      if (incident.customerId !== ownId && !s.customerExists.get(incident.customerId)) {
        throw new Error(`FOREIGN KEY constraint failed: incident ${incident.id} of customer ${ownId}'s record names customer ${incident.customerId}, which is not cached`);
      }
      incidentIds.add(incident.id);
    }
    for (const contact of record.contacts) {
      if (!incidentIds.has(contact.incidentId) && !s.incidentExists.get(contact.incidentId)) {
        throw new Error(`FOREIGN KEY constraint failed: contact ${contact.id} of customer ${ownId}'s record names incident ${contact.incidentId}, which is neither in the record nor cached`);
      }
    }
  }

  /**
   * Applies a page of the change feed in one transaction. Incidents and contacts of a customer
   * that is not cached are skipped: the feed only refers to them when the customer is visible,
   * and its own upsert carries them when it becomes visible.
   */
  applyChanges(changes: readonly Change[]): void {
    const s = this.#s;
    this.#countingTransaction(() => {
      for (const change of changes) {
        switch (change.op) {
          case 'upsert_customer':
            this.#upsertCustomer(change.customer);
            break;
          case 'upsert_incident':
            if (s.customerExists.get(change.incident.customerId)) this.#writeIncident(change.incident);
            break;
          case 'upsert_contact':
            if (s.incidentExists.get(change.contact.incidentId)) this.#writeContact(change.contact);
            break;
          case 'delete_customer':
            this.#deleteCustomer(change.customerId);
            break;
          case 'delete_incident':
            s.deleteIncident.run(change.incidentId);
            break;
          case 'delete_contact':
            s.deleteContact.run(change.contactId);
            break;
          case 'upsert_branch_call':
            this.#writeBranchCall(change.call);
            break;
          case 'delete_branch_call':
            s.deleteBranchCall.run(change.callKey);
            break;
          default:
            assertNever(change, 'change');
        }
      }
    });
  }

  /**
   * Deletes every cached customer (with its incidents, contacts, phones, e-mails and index
   * rows) that `rights` may not read, by the SQL twin of the shared `maySeeCustomer` rule.
   * With `batchSize`, deletes at most that many (call again until it returns 0), so that a
   * large purge on the main thread can yield between batches. Returns how many were deleted.
   */
  purgeInvisible(rights: UserRights, batchSize?: number): number {
    const where = invisibleCustomersWhere(rights);
    const select = this.db.prepare(`SELECT rid, id, search_tokens_json FROM customers WHERE ${where.sql} LIMIT ?`);
    return this.#countingTransaction(() => {
      const rows = select.all(...where.params, batchSize ?? -1) as Pick<CustomerRow, 'rid' | 'id' | 'search_tokens_json'>[];
      for (const row of rows) this.#deleteCustomerRow(row);
      return rows.length;
    });
  }

  /** Writes calls of "calls for you" as the backend sent them (a snapshot's last page). */
  upsertBranchCalls(calls: readonly BranchCall[]): void {
    this.db.transaction(() => {
      for (const call of calls) this.#writeBranchCall(call);
    })();
  }

  #writeBranchCall(call: BranchCall): void {
    const { customer } = call;
    this.#s.upsertBranchCall.run(
      call.key,
      customer?.id ?? null,
      call.startedAt,
      JSON.stringify(call),
      Date.parse(call.startedAt),
      call.handled === null ? 0 : 1,
      customer?.classification ?? null,
      customer?.branch ?? null,
      customer?.assignedRep?.id ?? null,
      JSON.stringify(call.receivedBy),
    );
  }

  /**
   * The calls of the last `listedBranchCalls`, by key, with the stored text each was parsed from.
   * The open list reads its calls after each sync pass that brings anything (each call taken
   * brings some); parsing them all again grew with every call of a shift (bench:memory, issue 13
   * item 7). Important: a call is reused only while its stored text is the same; rewritten, it is
   * parsed afresh.
   */
  #parsedBranchCalls = new Map<string, { json: string; call: BranchCall }>();

  /** Statements of `listedBranchCallsWhere`, by SQL text: one per set of rights and scope in practice. */
  #branchCallStatements = new Map<string, Statement>();

  #branchCallStatement(sql: string): Statement {
    let statement = this.#branchCallStatements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#branchCallStatements.set(sql, statement);
    }
    return statement;
  }

  /**
   * The cached calls a scope of "calls for you" lists for `user` (`callInScope` and `listedSince`,
   * selected in SQL), newest first. Read-only: shared with later reads.
   */
  listedBranchCalls(user: UserRights & { id: string }, scope: CallsForYouScope, since: string, now: Date): readonly BranchCall[] {
    const started = performance.now();
    const where = listedBranchCallsWhere(user, scope, since, now);
    const statement = this.#branchCallStatement(`SELECT key, call_json FROM branch_calls WHERE ${where.sql} ORDER BY started_ms DESC, key`);
    const rows = statement.all(...where.params) as { key: string; call_json: string }[];
    const parsed = new Map<string, { json: string; call: BranchCall }>();
    const calls: BranchCall[] = [];
    for (const row of rows) {
      const known = this.#parsedBranchCalls.get(row.key);
      let call = known?.json === row.call_json ? known.call : null;
      if (!call) {
        const result = BranchCall.safeParse(JSON.parse(row.call_json));
        if (!result.success) continue;
        call = result.data;
      }
      parsed.set(row.key, { json: row.call_json, call });
      calls.push(call);
    }
    this.#parsedBranchCalls = parsed;
    this.#logIfSlow('cache calls for you', started, { calls: calls.length });
    return calls;
  }

  /**
   * The handled and unhandled counts of `listedBranchCalls`, counted in SQL from the calls'
   * columns (no call is read or parsed). `handledKeys`: calls to count as handled whatever the
   * cache says (handled on this computer, not yet back through the feed).
   */
  countListedBranchCalls(
    user: UserRights & { id: string },
    scope: CallsForYouScope,
    since: string,
    now: Date,
    handledKeys: Iterable<string>,
  ): { handled: number; unhandled: number } {
    const started = performance.now();
    const where = listedBranchCallsWhere(user, scope, since, now);
    const statement = this.#branchCallStatement(
      `SELECT count(*) AS listed, count(*) FILTER (WHERE handled = 1 OR key IN (SELECT value FROM json_each(?))) AS handled
        FROM branch_calls WHERE ${where.sql}`,
    );
    const row = statement.get(JSON.stringify([...handledKeys]), ...where.params) as { listed: number; handled: number };
    this.#logIfSlow('cache calls for you counts', started, { calls: row.listed });
    return { handled: row.handled, unhandled: row.listed - row.handled };
  }

  /** Which of `keys` are calls the cache holds as handled (by the backend). */
  handledBranchCallKeys(keys: Iterable<string>): string[] {
    return this.#s.handledBranchCallKeys.all(JSON.stringify([...keys])) as string[];
  }

  /**
   * Deletes every cached call the user may no longer hold (`mayHoldBranchCall`, the rule the
   * feed sends them by). Returns how many were deleted.
   */
  purgeBranchCalls(user: User): number {
    const s = this.#s;
    return this.db.transaction(() => {
      let deleted = 0;
      for (const row of s.allBranchCalls.all() as { key: string; call_json: string }[]) {
        const parsed = BranchCall.safeParse(JSON.parse(row.call_json));
        if (parsed.success && mayHoldBranchCall(user, parsed.data)) continue;
        s.deleteBranchCall.run(row.key);
        deleted += 1;
      }
      return deleted;
    })();
  }

  /** Deletes the cached calls that started before `time` (out of every list's window). */
  pruneBranchCallsBefore(time: string): void {
    this.#s.deleteBranchCallsBefore.run(time);
  }

  /**
   * Forgets everything that came from the backend (customers, incidents, contacts, sync
   * state), keeping the outbox: notes not yet pushed are still the user's work.
   */
  clearSyncedData(): void {
    this.db.transaction(() => {
      this.db.exec(`
        DELETE FROM customer_tokens;
        INSERT INTO customer_fts (customer_fts) VALUES ('delete-all');
        DELETE FROM customer_phones;
        DELETE FROM customer_emails;
        DELETE FROM contacts;
        DELETE FROM incidents;
        DELETE FROM customers;
        DELETE FROM branch_calls;
        DELETE FROM local_calls;
        DELETE FROM meta;
      `);
      this.#s.setMeta.run(CUSTOMER_COUNT_KEY, '0');
      // A deferred index build that was running is abandoned with the sync state.
      this.setSearchIndexMerging('incremental');
    })();
  }

  /**
   * A write transaction that keeps the customer count in meta current: count(*) over a million
   * rows takes tens of milliseconds, too slow for every status update on the main thread.
   */
  #countingTransaction<T>(work: () => T): T {
    return this.db.transaction(() => {
      const outer = this.#customerCountDelta;
      this.#customerCountDelta = 0;
      try {
        const result = work();
        if (this.#customerCountDelta !== 0) this.#s.addToCustomerCount.run(this.#customerCountDelta);
        return result;
      } finally {
        this.#customerCountDelta = outer;
      }
    })();
  }

  /**
   * Whether the trigram index merges its segments as it is written (FTS5's 'automerge' and
   * 'crisismerge', kept in the index's own config table, so for every connection). A deferred
   * first sync turns this off while it builds the index, then merges everything once
   * (`mergeSearchIndexStep`): merging as it wrote rewrote each posting list at every level on
   * its way up. Meanwhile FTS5 keeps up to 8 MB of postings in memory before it writes a segment
   * ('hashsize', 1 MB by default): about 3 segments per INDEX_BATCH of 50,000 customers instead of
   * 44, so that a million customers stay far below the crisis merge (one merge of that many
   * segments in one transaction would hold the write lock for seconds).
   */
  setSearchIndexMerging(mode: 'incremental' | 'deferred'): void {
    const incremental = mode === 'incremental';
    this.#s.configureFts.run('automerge', incremental ? FTS_DEFAULT_AUTOMERGE : 0);
    this.#s.configureFts.run('crisismerge', incremental ? FTS_DEFAULT_CRISISMERGE : FTS_DEFERRED_CRISISMERGE);
    this.#s.configureFts.run('hashsize', incremental ? FTS_DEFAULT_HASHSIZE : FTS_DEFERRED_HASHSIZE);
  }

  /**
   * One bounded step of merging the trigram index into fewer segments; false when nothing is
   * left to merge. After a bulk load the index has many segments and every query reads all of
   * them (twice as slow at a million customers). Short steps rather than one 'optimize' keep
   * each write lock brief, so the main thread's writes never wait long.
   */
  mergeSearchIndexStep(pages = 500): boolean {
    const before = this.#s.totalChanges.get() as number;
    // A negative page count merges across all levels, as 'optimize' does, but incrementally.
    this.#s.mergeFts.run(-pages);
    return (this.#s.totalChanges.get() as number) - before >= 2;
  }

  /**
   * Puts up to `batch` customers after `afterRid` (in rid order) into the search index (trigrams
   * and tokens), in one transaction; returns the last rid done, or null when none is left. For
   * customers written with `deferSearchIndex`; the caller keeps the returned rid as its
   * checkpoint, and a rerun over the same rids changes nothing.
   *
   * Important: the remembered tokens go in with one set-based statement, sorted by the index's
   * key, and the trigrams in large batches (one segment each); writing either with each page cost
   * more. Row by row, in the order the customers were written, each token lands on a random page
   * of an index that outgrows the page cache, so the cost per customer grew with the cache and
   * each commit rewrote most of the index's pages (bench:cache-write).
   */
  indexCustomersAfter(afterRid: number, batch: number): number | null {
    const s = this.#s;
    return this.db.transaction(() => {
      const last = (s.lastRidOfBatch.get(afterRid, batch - 1) ?? s.lastRid.get(afterRid)) as number | null;
      if (last === null) return null;
      for (const row of s.customersInRids.all(afterRid, last) as CustomerRow[]) {
        // Rows a deferred page of an older version wrote kept no tokens at all.
        if (row.search_tokens_json === '[]') {
          this.#reindexRow(row);
          continue;
        }
        // A customer a later page wrote again was indexed then: its trigrams are replaced.
        s.deleteFts.run(row.rid);
        s.insertFts.run(row.rid, customerFtsText(searchFieldsOf(row)));
      }
      s.insertTokensOfRids.run(afterRid, last);
      return last;
    })();
  }

  /** Replaces a customer's index rows (tokens, trigrams, remembered tokens) with those of its record. */
  #reindexRow(row: CustomerRow): void {
    const s = this.#s;
    const entry = indexCustomer(toCustomer(row));
    this.#deleteIndexRows(row);
    for (const token of entry.tokens) s.insertToken.run(token, row.rid);
    s.insertFts.run(row.rid, entry.ftsText);
    s.setSearchTokens.run(JSON.stringify(entry.tokens), row.rid);
  }

  #upsertCustomer(customer: Customer, deferIndex = false): void {
    const s = this.#s;
    const existing = s.customerIndexRow.get(customer.id) as Pick<CustomerRow, 'rid' | 'search_tokens_json'> | undefined;
    // Only new customers wait for the deferred build: it may already have passed an existing
    // customer's rid, and would then never index it again.
    const defer = deferIndex && !existing;
    // A deferred customer's trigram text is computed by the build, not twice.
    const entry: CustomerIndexEntry = defer ? { ftsText: '', tokens: customerTokens(customer), sortKana: customerSortKana(customer) } : indexCustomer(customer);
    const values = [
      customer.code,
      customer.name,
      customer.nameKana,
      JSON.stringify(customer.phones),
      JSON.stringify(customer.emails),
      customer.postalCode,
      customer.address,
      customer.branch,
      customer.assignedRepId,
      customer.assignedRepName,
      customer.classification,
      customer.type,
      customer.updatedAt,
      entry.sortKana,
      JSON.stringify(entry.tokens),
      customer.derived === undefined ? null : JSON.stringify(customer.derived),
    ];
    let rid: number;
    if (existing) {
      rid = existing.rid;
      this.#deleteIndexRows(existing);
      s.deletePhones.run(rid);
      s.deleteEmails.run(rid);
      s.updateCustomer.run(...values, rid);
    } else {
      rid = Number(s.insertCustomer.run(customer.id, ...values).lastInsertRowid);
      this.#customerCountDelta += 1;
    }
    customer.phones.forEach((phone, position) => s.insertPhone.run(rid, position, phone.e164, phone.kind));
    customer.emails.forEach((email, position) => s.insertEmail.run(rid, position, email.toLowerCase()));
    if (defer) return;
    for (const token of entry.tokens) s.insertToken.run(token, rid);
    s.insertFts.run(rid, entry.ftsText);
  }

  #deleteCustomer(customerId: string): void {
    const row = this.#s.customerIndexRow.get(customerId) as Pick<CustomerRow, 'rid' | 'search_tokens_json'> | undefined;
    if (row) this.#deleteCustomerRow(row);
  }

  /** Phones, e-mails, incidents and contacts go by ON DELETE CASCADE; the index rows by hand. */
  #deleteCustomerRow(row: Pick<CustomerRow, 'rid' | 'search_tokens_json'>): void {
    this.#deleteIndexRows(row);
    this.#s.deleteCustomer.run(row.rid);
    this.#customerCountDelta -= 1;
  }

  #deleteIndexRows(row: Pick<CustomerRow, 'rid' | 'search_tokens_json'>): void {
    for (const token of JSON.parse(row.search_tokens_json) as string[]) this.#s.deleteToken.run(token, row.rid);
    this.#s.deleteFts.run(row.rid);
  }

  #writeIncident(incident: Incident): void {
    this.#s.upsertIncident.run(
      incident.id,
      incident.customerId,
      incident.title,
      incident.status,
      incident.assigneeId,
      incident.assigneeName,
      incident.openedAt,
      incident.closedAt,
      incident.updatedAt,
    );
  }

  #writeContact(contact: Contact, pending = false): void {
    this.#s.upsertContact.run(
      contact.id,
      contact.incidentId,
      contact.customerId,
      contact.kind,
      contact.direction,
      contact.occurredAt,
      contact.agentId,
      contact.agentName,
      contact.summary,
      contact.body,
      contact.callMeta === null ? null : JSON.stringify(contact.callMeta),
      pending ? 1 : 0,
    );
  }

  // ---- reads --------------------------------------------------------------------------------

  /**
   * Customers matching `query` by name, kana, latin words, e-mail, code, address or phone.
   * Both sides are normalised with `normaliseForSearch`. A query that parses as a phone number
   * also matches E.164 numbers exactly; 3+ characters go through the trigram FTS table (any
   * substring); 1–2 characters through the token index by prefix (never a full scan).
   * Results: exact matches first, then whole words, prefixes, substrings; then by reading.
   */
  search(query: string, limit = DEFAULT_SEARCH_LIMIT): CustomerSummary[] {
    return this.searchPage(query, { limit }).customers;
  }

  /**
   * `search` with the count of matches and an offset for paging. The count is exact when the
   * index returned fewer candidates than were asked for; otherwise it is a lower bound
   * (`totalExact: false`) and the operator is invited to type more.
   */
  searchPage(query: string, page: { limit?: number; offset?: number } = {}): CacheSearchPage {
    const limit = page.limit ?? DEFAULT_SEARCH_LIMIT;
    const offset = page.offset ?? 0;
    const started = performance.now();
    const normalised = normaliseForSearch(query);
    if (normalised === '') return { customers: [], total: 0, totalExact: true };
    const candidates = Math.max((offset + limit) * CANDIDATES_PER_RESULT, MIN_SEARCH_CANDIDATES);
    const { exact, matched, mustContain } = this.#candidates(query, normalised, candidates);
    const rids = new Set<number>([...exact, ...matched]);

    const rows = this.#s.customersByRids.all(JSON.stringify([...rids])) as CustomerRow[];
    const ranked = rows
      .filter((row) => exact.has(row.rid) || mustContain === null || emailsOf(row).some((email) => email.includes(mustContain)))
      .map((row) => ({ row, rank: exact.has(row.rid) ? RANK_EXACT : rankMatch(row, normalised) }))
      .sort(
        (a, b) =>
          a.rank - b.rank ||
          compareText(a.row.sort_kana, b.row.sort_kana) ||
          compareText(a.row.code, b.row.code),
      );
    const customers = ranked.slice(offset, offset + limit).map(({ row }) => toSummary(row));
    // Either index stops at `candidates`: reaching it means there may be more than were counted.
    const totalExact = exact.size < candidates && matched.length < candidates;

    this.#logIfSlow('cache search', started, { queryLength: codePointLength(query), results: customers.length });
    return { customers, total: ranked.length, totalExact };
  }

  /**
   * Rows that may match, by the cheapest index that answers the query:
   * - a phone number: E.164 exactly; failing that, its digits as a substring (trigrams);
   * - an e-mail address: the e-mail index exactly; failing that, the trigram index on the part
   *   up to the '@' only, checked against the whole query afterwards (`mustContain`). A phrase
   *   that includes a common domain makes FTS5 walk that domain's huge doclists: tens of ms
   *   over a million customers, where the local part alone is rare and fast;
   * - 3+ characters: the trigram index (any substring);
   * - 1–2 characters: the token index by prefix.
   */
  #candidates(query: string, normalised: string, candidates: number): { exact: Set<number>; matched: number[]; mustContain: string | null } {
    const s = this.#s;
    const exact = new Set<number>();
    const rids = (rows: unknown[]) => (rows as { rid: number }[]).map((row) => row.rid);
    const e164 = toE164(query, this.#region);
    if (e164 !== null) {
      for (const rid of rids(s.ridsByPhone.all(e164, candidates))) exact.add(rid);
      // A whole number that is on file: its digits as a substring would only add slow noise.
      if (exact.size > 0) return { exact, matched: [], mustContain: null };
    }

    const at = normalised.indexOf('@');
    if (at !== -1) {
      for (const rid of rids(s.ridsByEmail.all(query.normalize('NFKC').trim().toLowerCase(), candidates))) exact.add(rid);
      if (exact.size > 0) return { exact, matched: [], mustContain: null };
      const localPart = normalised.slice(0, at + 1);
      if (codePointLength(localPart) >= 4 && localPart !== normalised) {
        return { exact, matched: rids(s.ridsByFts.all(ftsPhrase(localPart), candidates)), mustContain: normalised };
      }
    }
    const matched =
      codePointLength(normalised) >= 3
        ? rids(s.ridsByFts.all(ftsPhrase(normalised), candidates))
        : rids(s.ridsByTokenPrefix.all(normalised, prefixUpperBound(normalised), candidates));
    return { exact, matched, mustContain: null };
  }

  /** Customers with this exact E.164 number, most recently updated first. */
  findByPhone(e164: string): Customer[] {
    const started = performance.now();
    const rows = this.#s.customersByPhone.all(e164) as CustomerRow[];
    this.#logIfSlow('cache phone lookup', started, { results: rows.length });
    return rows.map(toCustomer);
  }

  /** The customer with its incidents (newest first) and contacts (newest first, pending included). */
  getDetail(customerId: string): CustomerDetailRecord | null {
    const started = performance.now();
    const s = this.#s;
    const row = s.customerById.get(customerId) as CustomerRow | undefined;
    if (!row) return null;
    const incidents = (s.incidentsOfCustomer.all(customerId) as IncidentRow[]).map(toIncident);
    const contacts = (s.contactsOfCustomer.all(customerId) as ContactRow[]).map(toCachedContact);
    this.#logIfSlow('cache detail', started, { incidents: incidents.length, contacts: contacts.length });
    return { customer: toCustomer(row), incidents, contacts };
  }

  getIncident(incidentId: string): Incident | null {
    const row = this.#s.incidentById.get(incidentId) as IncidentRow | undefined;
    return row ? toIncident(row) : null;
  }

  countCustomers(): number {
    return Number(this.getMeta(CUSTOMER_COUNT_KEY) ?? 0);
  }

  // ---- meta ---------------------------------------------------------------------------------

  getMeta(key: string): string | null {
    const row = this.#s.getMeta.get(key) as { value: string } | undefined;
    return row ? row.value : null;
  }

  setMeta(key: string, value: string): void {
    this.#s.setMeta.run(key, value);
  }

  deleteMeta(key: string): void {
    this.#s.deleteMeta.run(key);
  }

  // ---- outbox -------------------------------------------------------------------------------

  /** Stores a note in the outbox and, in the same transaction, shows it as a pending contact. */
  addPendingNote(entry: Extract<OutboxEntry, { type: 'add_note' }>, contact: Contact): void {
    this.db.transaction(() => {
      this.#s.insertOutbox.run(entry.clientId, JSON.stringify(entry), entry.createdAt);
      this.#writeContact(contact, true);
    })();
  }

  /**
   * Stores a call's wrap-up in the outbox and, in the same transaction, shows it as a pending
   * call contact, in a pending incident when it opens one. Without `contact` (its customer is
   * not cached) only the entry is stored: it is pushed all the same.
   */
  addPendingCall(entry: Extract<OutboxEntry, { type: 'log_call' }>, contact: Contact | null, newIncident: Incident | null): void {
    this.db.transaction(() => {
      this.#s.insertOutbox.run(entry.clientId, JSON.stringify(entry), entry.createdAt);
      if (newIncident) this.#writeIncident(newIncident);
      if (contact) this.#writeContact(contact, true);
    })();
  }

  /**
   * Stores an incident change (create, update, move a contact, a callback done) in the outbox
   * and, in the same transaction, shows its effect in the cache at once. The feed's copy
   * replaces it after the push; a refused entry is repaired from the backend (desk.ts).
   */
  addPendingChange(entry: OutboxEntry, effect: { incident?: Incident; contact?: Contact }): void {
    this.db.transaction(() => {
      this.#s.insertOutbox.run(entry.clientId, JSON.stringify(entry), entry.createdAt);
      if (effect.incident) this.#writeIncident(effect.incident);
      if (effect.contact) this.#writeContact(effect.contact);
    })();
  }

  getContact(contactId: string): CachedContact | null {
    const row = this.#s.contactById.get(contactId) as ContactRow | undefined;
    return row ? toCachedContact(row) : null;
  }

  /** Pending entries in the order they were written. */
  pendingOutbox(limit: number): OutboxRow[] {
    return (this.#s.pendingOutbox.all(limit) as OutboxDbRow[]).map(toOutboxRow);
  }

  rejectedOutbox(): OutboxRow[] {
    return (this.#s.rejectedOutbox.all() as OutboxDbRow[]).map(toOutboxRow);
  }

  outboxCounts(): OutboxCounts {
    const counts = this.#s.outboxCounts.get() as { pending: number | null; rejected: number | null };
    const firstRejected = this.#s.firstRejected.get() as { error: string | null } | undefined;
    return {
      pending: counts.pending ?? 0,
      rejected: counts.rejected ?? 0,
      firstRejectedError: firstRejected ? (firstRejected.error ?? 'rejected') : null,
    };
  }

  markPushAttempt(clientIds: readonly string[]): void {
    this.db.transaction(() => {
      for (const clientId of clientIds) this.#s.bumpOutboxAttempts.run(clientId);
    })();
  }

  /**
   * Records the backend's answer to a push. Applied and duplicate entries leave the outbox and
   * their pending contact takes the server's contact id, so the contact's later upsert from the
   * feed overwrites it instead of adding a second copy. Rejected entries stay, with the error.
   */
  recordPushResults(results: PushResponse['results']): void {
    const s = this.#s;
    this.db.transaction(() => {
      for (const result of results) {
        if (result.status === 'rejected') {
          s.rejectOutbox.run(result.error ?? 'rejected by the backend', result.clientId);
          continue;
        }
        s.deleteOutbox.run(result.clientId);
        const serverId = result.contactId;
        if (serverId === null || serverId === result.clientId) {
          s.confirmPendingContact.run(result.clientId);
        } else if (s.contactExists.get(serverId)) {
          // The feed delivered the server's copy first: the pending copy is the duplicate.
          s.deletePendingContact.run(result.clientId);
        } else {
          s.renamePendingContact.run(serverId, result.clientId);
        }
      }
    })();
  }

  #logIfSlow(what: string, started: number, fields: Record<string, unknown>): void {
    const durationMs = performance.now() - started;
    if (durationMs >= this.#slowQueryMs) {
      this.#logger.warn(`slow ${what}`, { durationMs: Math.round(durationMs * 10) / 10, ...fields });
    }
  }
}

interface OutboxDbRow {
  seq: number;
  client_id: string;
  entry_json: string;
  status: 'pending' | 'rejected';
  error: string | null;
  attempts: number;
}

function toOutboxRow(row: OutboxDbRow): OutboxRow {
  return {
    seq: row.seq,
    clientId: row.client_id,
    entry: JSON.parse(row.entry_json) as OutboxEntry,
    status: row.status,
    error: row.error,
    attempts: row.attempts,
  };
}

function prepareStatements(db: CacheDb) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    customerExists: p('SELECT 1 FROM customers WHERE id = ?').pluck(),
    incidentExists: p('SELECT 1 FROM incidents WHERE id = ?').pluck(),
    contactExists: p('SELECT 1 FROM contacts WHERE id = ?').pluck(),
    customerIndexRow: p('SELECT rid, search_tokens_json FROM customers WHERE id = ?'),
    insertCustomer: p(`INSERT INTO customers (id, code, name, name_kana, phones_json, emails_json, postal_code, address,
        branch, assigned_rep_id, assigned_rep_name, classification, type, updated_at, sort_kana, search_tokens_json, derived_json)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    updateCustomer: p(`UPDATE customers SET code = ?, name = ?, name_kana = ?, phones_json = ?, emails_json = ?,
        postal_code = ?, address = ?, branch = ?, assigned_rep_id = ?, assigned_rep_name = ?, classification = ?,
        type = ?, updated_at = ?, sort_kana = ?, search_tokens_json = ?, derived_json = ?
      WHERE rid = ?`),
    deleteCustomer: p('DELETE FROM customers WHERE rid = ?'),
    insertPhone: p('INSERT INTO customer_phones (customer_rid, position, e164, kind) VALUES (?, ?, ?, ?)'),
    deletePhones: p('DELETE FROM customer_phones WHERE customer_rid = ?'),
    insertEmail: p('INSERT INTO customer_emails (customer_rid, position, email) VALUES (?, ?, ?)'),
    deleteEmails: p('DELETE FROM customer_emails WHERE customer_rid = ?'),
    insertToken: p('INSERT OR IGNORE INTO customer_tokens (token, customer_rid) VALUES (?, ?)'),
    deleteToken: p('DELETE FROM customer_tokens WHERE token = ? AND customer_rid = ?'),
    insertFts: p('INSERT INTO customer_fts (rowid, text) VALUES (?, ?)'),
    deleteFts: p('DELETE FROM customer_fts WHERE rowid = ?'),
    mergeFts: p(`INSERT INTO customer_fts (customer_fts, rank) VALUES ('merge', ?)`),
    // The option name is bound as text; its value must be an integer literal to FTS5, hence CAST.
    configureFts: p(`INSERT INTO customer_fts (customer_fts, rank) VALUES (?, CAST(? AS INTEGER))`),
    totalChanges: p('SELECT total_changes()').pluck(),
    upsertIncident: p(`INSERT INTO incidents (id, customer_id, title, status, assignee_id, assignee_name, opened_at,
        closed_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, title = excluded.title,
        status = excluded.status, assignee_id = excluded.assignee_id, assignee_name = excluded.assignee_name,
        opened_at = excluded.opened_at, closed_at = excluded.closed_at, updated_at = excluded.updated_at`),
    deleteIncident: p('DELETE FROM incidents WHERE id = ?'),
    upsertContact: p(`INSERT INTO contacts (id, incident_id, customer_id, kind, direction, occurred_at, agent_id,
        agent_name, summary, body, call_meta_json, pending)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET incident_id = excluded.incident_id, customer_id = excluded.customer_id,
        kind = excluded.kind, direction = excluded.direction, occurred_at = excluded.occurred_at,
        agent_id = excluded.agent_id, agent_name = excluded.agent_name, summary = excluded.summary,
        body = excluded.body, call_meta_json = excluded.call_meta_json, pending = excluded.pending`),
    deleteContact: p('DELETE FROM contacts WHERE id = ?'),
    upsertBranchCall: p(`INSERT INTO branch_calls (key, customer_id, started_at, call_json, started_ms, handled,
        customer_classification, customer_branch, assigned_rep_id, received_by_json)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET customer_id = excluded.customer_id, started_at = excluded.started_at,
        call_json = excluded.call_json, started_ms = excluded.started_ms, handled = excluded.handled,
        customer_classification = excluded.customer_classification, customer_branch = excluded.customer_branch,
        assigned_rep_id = excluded.assigned_rep_id, received_by_json = excluded.received_by_json`),
    deleteBranchCall: p('DELETE FROM branch_calls WHERE key = ?'),
    deleteBranchCallsBefore: p('DELETE FROM branch_calls WHERE started_at < ?'),
    handledBranchCallKeys: p('SELECT key FROM branch_calls WHERE handled = 1 AND key IN (SELECT value FROM json_each(?))').pluck(),
    allBranchCalls: p('SELECT key, call_json FROM branch_calls'),
    confirmPendingContact: p('UPDATE contacts SET pending = 0 WHERE id = ?'),
    deletePendingContact: p('DELETE FROM contacts WHERE id = ? AND pending = 1'),
    renamePendingContact: p('UPDATE contacts SET id = ?, pending = 0 WHERE id = ? AND pending = 1'),

    ridsByPhone: p('SELECT customer_rid AS rid FROM customer_phones WHERE e164 = ? LIMIT ?'),
    ridsByEmail: p('SELECT customer_rid AS rid FROM customer_emails WHERE email = ? LIMIT ?'),
    ridsByFts: p(SEARCH_SQL.ridsByFts),
    ridsByTokenPrefix: p(SEARCH_SQL.ridsByTokenPrefix),
    customersByRids: p(SEARCH_SQL.customersByRids),
    customersByPhone: p(`SELECT ${CUSTOMER_COLUMNS} FROM customers
      WHERE rid IN (SELECT customer_rid FROM customer_phones WHERE e164 = ?)
      ORDER BY updated_at DESC, rid`),
    customerById: p(`SELECT ${CUSTOMER_COLUMNS} FROM customers WHERE id = ?`),
    lastRidOfBatch: p('SELECT rid FROM customers WHERE rid > ? ORDER BY rid LIMIT 1 OFFSET ?').pluck(),
    lastRid: p('SELECT max(rid) FROM customers WHERE rid > ?').pluck(),
    customersInRids: p(`SELECT ${CUSTOMER_COLUMNS} FROM customers WHERE rid > ? AND rid <= ?`),
    insertTokensOfRids: p(`INSERT OR IGNORE INTO customer_tokens (token, customer_rid)
      SELECT token.value, customers.rid FROM customers, json_each(customers.search_tokens_json) AS token
      WHERE customers.rid > ? AND customers.rid <= ?
      ORDER BY 1, 2`),
    setSearchTokens: p('UPDATE customers SET search_tokens_json = ? WHERE rid = ?'),
    incidentById: p('SELECT * FROM incidents WHERE id = ?'),
    contactById: p('SELECT * FROM contacts WHERE id = ?'),
    incidentsOfCustomer: p('SELECT * FROM incidents WHERE customer_id = ? ORDER BY opened_at DESC, id'),
    contactsOfCustomer: p(`SELECT * FROM contacts
      WHERE incident_id IN (SELECT id FROM incidents WHERE customer_id = ?)
      ORDER BY occurred_at DESC, id`),
    addToCustomerCount: p(`UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = '${CUSTOMER_COUNT_KEY}'`),

    getMeta: p('SELECT value FROM meta WHERE key = ?'),
    setMeta: p(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    deleteMeta: p('DELETE FROM meta WHERE key = ?'),

    insertOutbox: p(`INSERT INTO outbox (client_id, entry_json, created_at) VALUES (?, ?, ?)`),
    pendingOutbox: p(`SELECT * FROM outbox WHERE status = 'pending' ORDER BY seq LIMIT ?`),
    rejectedOutbox: p(`SELECT * FROM outbox WHERE status = 'rejected' ORDER BY seq`),
    // Cached views waiting to be audited are no work of the user's: they are not counted as changes waiting.
    outboxCounts: p(
      `SELECT sum(status = 'pending') AS pending, sum(status = 'rejected') AS rejected FROM outbox WHERE json_extract(entry_json, '$.type') <> 'customer_viewed'`,
    ),
    firstRejected: p(`SELECT error FROM outbox WHERE status = 'rejected' ORDER BY seq LIMIT 1`),
    bumpOutboxAttempts: p('UPDATE outbox SET attempts = attempts + 1 WHERE client_id = ?'),
    rejectOutbox: p(`UPDATE outbox SET status = 'rejected', error = ? WHERE client_id = ?`),
    deleteOutbox: p('DELETE FROM outbox WHERE client_id = ?'),
  };
}

/** An FTS5 string literal: the whole query as one phrase, i.e. one substring for trigrams. */
function ftsPhrase(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/**
 * The smallest string greater than every string starting with `prefix` (by code point, which
 * is also SQLite's BINARY order of UTF-8), for an index range `token >= prefix AND token < bound`.
 */
export function prefixUpperBound(prefix: string): string {
  const codePoints = [...prefix];
  const last = codePoints.pop();
  if (last === undefined) throw new Error('prefixUpperBound needs a non-empty prefix');
  let next = (last.codePointAt(0) ?? 0) + 1;
  if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
  return codePoints.join('') + String.fromCodePoint(next);
}

function emailsOf(row: CustomerRow): string[] {
  return (JSON.parse(row.emails_json) as string[]).map(normaliseForSearch);
}

function rankMatch(row: CustomerRow, query: string): number {
  const fields = [...[row.name, row.name_kana, row.code].map(normaliseForSearch), ...emailsOf(row)];
  if (fields.includes(query)) return RANK_EXACT;
  // Whole words of the record itself: the stored index tokens also hold every suffix.
  const tokens = searchTokens(row.name, row.name_kana, row.code);
  if (tokens.includes(query)) return RANK_WORD;
  if (fields.some((field) => field.startsWith(query)) || tokens.some((token) => token.startsWith(query))) {
    return RANK_PREFIX;
  }
  return RANK_SUBSTRING;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The fields of a row the trigram text is made of. The deferred index build reads these alone:
 * `toCustomer` also checks the stored derived attributes against their schema, about 5 µs per
 * customer that has them, for nothing the index uses.
 */
function searchFieldsOf(row: CustomerRow): CustomerSearchFields {
  return {
    name: row.name,
    nameKana: row.name_kana,
    code: row.code,
    emails: JSON.parse(row.emails_json) as string[],
    postalCode: row.postal_code,
    address: row.address,
    phones: JSON.parse(row.phones_json) as Customer['phones'],
  };
}

function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    nameKana: row.name_kana,
    phones: JSON.parse(row.phones_json) as Customer['phones'],
    emails: JSON.parse(row.emails_json) as string[],
    postalCode: row.postal_code,
    address: row.address,
    branch: row.branch,
    assignedRepId: row.assigned_rep_id,
    assignedRepName: row.assigned_rep_name,
    classification: row.classification as Customer['classification'],
    type: row.type as Customer['type'],
    updatedAt: row.updated_at,
    ...derivedOf(row.derived_json),
  };
}

/** Stored derived attributes; left out when there are none or they no longer parse. */
function derivedOf(text: string | null): Pick<Customer, 'derived'> {
  const derived = readStoredJson(text, DerivedAttributes);
  return derived === null ? {} : { derived };
}

function toSummary(row: CustomerRow): CustomerSummary {
  const customer = toCustomer(row);
  return {
    id: customer.id,
    code: customer.code,
    name: customer.name,
    nameKana: customer.nameKana,
    phones: customer.phones,
    emails: customer.emails,
    address: customer.address,
    classification: customer.classification,
    type: customer.type,
    branch: customer.branch,
  };
}

function toIncident(row: IncidentRow): Incident {
  return {
    id: row.id,
    customerId: row.customer_id,
    title: row.title,
    status: row.status as Incident['status'],
    assigneeId: row.assignee_id,
    assigneeName: row.assignee_name,
    openedAt: row.opened_at,
    closedAt: row.closed_at,
    updatedAt: row.updated_at,
  };
}

function toCachedContact(row: ContactRow): CachedContact {
  return {
    id: row.id,
    incidentId: row.incident_id,
    customerId: row.customer_id,
    kind: row.kind as Contact['kind'],
    direction: row.direction as Contact['direction'],
    occurredAt: row.occurred_at,
    agentId: row.agent_id,
    agentName: row.agent_name,
    summary: row.summary,
    body: row.body,
    callMeta: row.call_meta_json === null ? null : (JSON.parse(row.call_meta_json) as Contact['callMeta']),
    pending: row.pending === 1,
  };
}
