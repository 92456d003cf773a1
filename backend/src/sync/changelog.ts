import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { DatabaseHandle, SqlDialect } from '../db/database.js';
import type { ChangeLogTable, Database } from '../db/schema.js';
import { encodePoke, localChangeEvent, PG_CHANGES_CHANNEL } from './feed.js';

export interface ChangeEntry {
  tenantId: string;
  entity: ChangeLogTable['entity'];
  entityId: string;
  customerId: string | null;
  op: ChangeLogTable['op'];
  /** A customer's classification or branch changed: who may see it changed. */
  visibilityChanged?: boolean;
  /** With visibilityChanged: what decided visibility before, so the feed deletes only where the customer was visible. */
  visibilityBefore?: { classification: number; branch: string | null };
}

/**
 * A write transaction. Every write to customers, incidents or contacts goes through one and
 * records its change here, so the change log can never miss a write nor hold one that
 * rolled back.
 */
export interface WriteTx {
  readonly trx: Transaction<Database>;
  readonly dialect: SqlDialect;
  /** Records one change; the entries are appended to the log, in this order, when `work` is done. */
  recordChange(entry: ChangeEntry): Promise<void>;
}

/** A change_log row (the one-statement note of push.ts writes it too). */
export function changeLogRow(tenantId: string, seq: number, entry: ChangeEntry, at: string) {
  return {
    tenant_id: tenantId,
    seq,
    entity: entry.entity,
    entity_id: entry.entityId,
    customer_id: entry.customerId,
    op: entry.op,
    visibility_changed: entry.visibilityChanged ? 1 : 0,
    visibility_before: entry.visibilityBefore ? JSON.stringify(entry.visibilityBefore) : null,
    at,
  };
}

/** PostgreSQL: the placeholder sequence of an entry until a sequencing run numbers it. */
export function pendingSeq(): RawBuilder<number> {
  return sql<number>`-nextval('change_log_pending_seq')`;
}

/** SQLite: the tenant's new last sequence. PostgreSQL: the entries' placeholders, for the sequencing run to number. */
export interface AppendedChanges {
  lastSeq: number | null;
  placeholders: number[];
}

/**
 * Appends a transaction's change-log entries of one tenant, in order, when its work is done.
 *
 * Important: a reader that has seen sequence N must already have seen every sequence below N,
 * so sequences are handed out in commit order with no gaps (a database sequence or an identity
 * column taken at insert would not give this: a transaction holding N may commit after N+1 was
 * read).
 *
 * On PostgreSQL the entries are inserted with placeholder sequences below zero (invisible to the
 * feed, which reads after a cursor of zero or more) and the writer commits without touching any
 * row another writer needs; once it has committed, a sequencing run numbers every committed
 * placeholder of the tenant at once (`sequenceCommitted`, migration 031). On SQLite every
 * transaction begins IMMEDIATE (db/database.ts), which serialises writers anyway: the bump of
 * `tenants.last_seq` and the rows are the last statements of the transaction and this answers
 * the tenant's new last sequence.
 */
export async function appendChanges(trx: Transaction<Database>, dialect: SqlDialect, tenantId: string, entries: readonly ChangeEntry[]): Promise<AppendedChanges> {
  const at = new Date().toISOString();
  if (dialect === 'postgres') {
    const rows = await trx
      .insertInto('change_log')
      .values(entries.map((entry) => ({ ...changeLogRow(tenantId, 0, entry, at), seq: pendingSeq() })))
      .returning('seq')
      .execute();
    return { lastSeq: null, placeholders: rows.map((row) => Number(row.seq)) };
  }
  const count = entries.length;
  const bumped = await trx
    .updateTable('tenants')
    .set({ last_seq: sql<number>`last_seq + ${count}` })
    .where('id', '=', tenantId)
    .returning('last_seq')
    .executeTakeFirst();
  if (!bumped) throw new Error(`change log: unknown tenant ${tenantId}`);
  const last = Number(bumped.last_seq);
  await trx
    .insertInto('change_log')
    .values(entries.map((entry, index) => changeLogRow(tenantId, last - count + 1 + index, entry, at)))
    .execute();
  return { lastSeq: last, placeholders: [] };
}

/** The placeholders a sequencing run numbered (migration 032); null when the run failed. */
type Numbered = ReadonlySet<number> | null;

/** Whether a run that numbered `numbered` took these placeholders (null: everything committed before the call). */
function covers(numbered: Numbered, placeholders: readonly number[] | null): boolean {
  return numbered !== null && placeholders !== null && placeholders.every((placeholder) => numbered.has(placeholder));
}

/** The run queued behind the one under way: who joined it (their placeholders), and its outcome. */
interface QueuedRun {
  joiners: (readonly number[] | null)[];
  promise: Promise<Numbered>;
}

/** A failed run is run again after this delay, doubled each time up to the cap, at most this many times. */
const RETRY_FIRST_DELAY_MS = 50;
const RETRY_MAX_DELAY_MS = 5_000;
const RETRY_ATTEMPTS = 12;

/** Where the sequencer reports failed runs (the backend's logger; stderr until one is given). */
export interface SequencingLog {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

const stderrLog: SequencingLog = {
  warn: (details, message) => process.stderr.write(`${message} ${JSON.stringify(details)}\n`),
  error: (details, message) => process.stderr.write(`${message} ${JSON.stringify(details)}\n`),
};

/**
 * The sequencing runs of one tenant in this process: one at a time, and one more queued behind
 * it. A writer that committed while a run was under way waits for that run and answers at once
 * if it numbered the writer's placeholders; otherwise (the run read the log before the writer's
 * commit) it waits for the queued run, which starts after the call and so sees the entries, and
 * which every writer that committed meanwhile shares. The queued run is skipped when the run
 * before it covered all who joined it.
 *
 * A run that fails after the writers committed does not fail them: their entries are stored and
 * are numbered by a retry (a timer with backoff) or by any later run of the tenant, since a run
 * numbers every committed placeholder.
 */
class TenantSequencer {
  #running: Promise<Numbered> | null = null;
  #queued: QueuedRun | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #failures = 0;

  constructor(
    private readonly tenantId: string,
    private readonly run: () => Promise<ReadonlySet<number>>,
    private readonly sequencing: Sequencing,
  ) {}

  request(placeholders: readonly number[] | null): Promise<void> {
    const running = this.#running;
    if (running === null) return this.#start().then(() => undefined);
    const queued = (this.#queued ??= this.#queueBehind(running));
    queued.joiners.push(placeholders);
    return running.then((numbered) => (covers(numbered, placeholders) ? undefined : queued.promise.then(() => undefined)));
  }

  stop(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #queueBehind(running: Promise<Numbered>): QueuedRun {
    const joiners: (readonly number[] | null)[] = [];
    const promise = running.then((numbered) => {
      this.#queued = null;
      return joiners.every((placeholders) => covers(numbered, placeholders)) ? numbered : this.#start();
    });
    return { joiners, promise };
  }

  #start(): Promise<Numbered> {
    const current: Promise<Numbered> = this.run()
      .then(
        (numbered) => {
          this.#failures = 0;
          this.stop();
          return numbered;
        },
        (error: unknown) => {
          this.#retryLater(error);
          return null;
        },
      )
      .finally(() => {
        if (this.#running === current) this.#running = null;
      });
    this.#running = current;
    return current;
  }

  #retryLater(error: unknown): void {
    if (this.#retryTimer !== null || this.sequencing.stopped) return;
    const attempt = ++this.#failures;
    const details = { tenantId: this.tenantId, attempt, err: error instanceof Error ? error.message : String(error) };
    if (attempt > RETRY_ATTEMPTS) {
      this.#failures = 0;
      this.sequencing.log.error(details, 'change log: sequencing failed again and again; the entries are numbered by the next write of the tenant or at start');
      return;
    }
    const delay = Math.min(RETRY_FIRST_DELAY_MS * 2 ** (attempt - 1), RETRY_MAX_DELAY_MS);
    this.sequencing.log.warn({ ...details, retryInMs: delay }, 'change log: a sequencing run failed; it runs again');
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.request(null);
    }, delay);
    // A retry never keeps a process alive that has nothing else to do.
    this.#retryTimer.unref();
  }
}

interface Sequencing {
  log: SequencingLog;
  stopped: boolean;
  tenants: Map<string, TenantSequencer>;
}

const sequencingOf = new WeakMap<DatabaseHandle, Sequencing>();

function sequencing(handle: DatabaseHandle): Sequencing {
  let state = sequencingOf.get(handle);
  if (!state) {
    state = { log: stderrLog, stopped: false, tenants: new Map() };
    sequencingOf.set(handle, state);
  }
  return state;
}

/**
 * PostgreSQL: numbers the tenant's committed change-log entries that still hold placeholders
 * and pokes every backend instance once with the new last sequence (NOTIFY from migration 031's
 * function, delivered when it commits). Resolves once a run has numbered `placeholders` (the
 * caller's committed entries; without them, once a run that began after this call has
 * committed), so a pull that follows sees them; or once a failed run's retry is scheduled.
 */
export function sequenceCommitted(handle: DatabaseHandle, tenantId: string, placeholders: readonly number[] | null = null): Promise<void> {
  if (handle.dialect !== 'postgres') return Promise.resolve();
  const state = sequencing(handle);
  let sequencer = state.tenants.get(tenantId);
  if (!sequencer) {
    const numberingRun = sql<{ numbered: string[] }>`select change_log_sequence(${tenantId}) as numbered`.compile(handle.db);
    sequencer = new TenantSequencer(
      tenantId,
      async () => {
        // Prepared: one of the statements every note waits for.
        const rows = await handle.prepared(numberingRun);
        return new Set((rows[0]?.numbered ?? []).map(Number));
      },
      state,
    );
    state.tenants.set(tenantId, sequencer);
  }
  return sequencer.request(placeholders);
}

/**
 * PostgreSQL: numbers what a backend left unnumbered, having stopped between a writer's commit
 * and its sequencing run, or whose runs failed after the commit for longer than their retries
 * (any later write of the tenant numbers those entries too). Run at start, which also gives the
 * sequencer the backend's logger.
 */
export async function sequenceAllCommitted(handle: DatabaseHandle, log?: SequencingLog): Promise<void> {
  if (handle.dialect !== 'postgres') return;
  const state = sequencing(handle);
  if (log) state.log = log;
  state.stopped = false;
  const tenants = await handle.db.selectFrom('tenants').select('id').execute();
  for (const tenant of tenants) await sequenceCommitted(handle, tenant.id);
}

/** Cancels the retries of failed runs (the backend is closing). */
export function stopSequencing(handle: DatabaseHandle): void {
  const state = sequencingOf.get(handle);
  if (!state) return;
  state.stopped = true;
  for (const sequencer of state.tenants.values()) sequencer.stop();
}

/**
 * Runs `work` in one transaction, appends the change-log entries it recorded, and once it
 * commits pokes every listener of the tenants whose change log advanced: on PostgreSQL through
 * the sequencing run's NOTIFY (delivered to every backend instance), on SQLite through the
 * in-process emitter (SQLite serves one process). It resolves once the entries have their
 * sequences, so a pull that follows sees them; on PostgreSQL, should the sequencing run fail
 * after the commit, once its retry is scheduled (the write is stored; sequenceCommitted).
 */
export async function writeTransaction<T>(handle: DatabaseHandle, work: (tx: WriteTx) => Promise<T>): Promise<T> {
  const lastSeqOfTenant = new Map<string, number>();
  const placeholdersOfTenant = new Map<string, number[]>();
  const result = await handle.db.transaction().execute(async (trx) => {
    lastSeqOfTenant.clear();
    placeholdersOfTenant.clear();
    const recorded = new Map<string, ChangeEntry[]>();
    const value = await work({
      trx,
      dialect: handle.dialect,
      recordChange: async (entry) => {
        const entries = recorded.get(entry.tenantId);
        if (entries) entries.push(entry);
        else recorded.set(entry.tenantId, [entry]);
      },
    });
    // In one order, should a transaction ever write for two tenants.
    for (const tenantId of [...recorded.keys()].sort()) {
      const appended = await appendChanges(trx, handle.dialect, tenantId, recorded.get(tenantId)!);
      if (appended.lastSeq !== null) lastSeqOfTenant.set(tenantId, appended.lastSeq);
      else placeholdersOfTenant.set(tenantId, appended.placeholders);
    }
    return value;
  });
  if (handle.dialect === 'sqlite') {
    for (const [tenantId, seq] of lastSeqOfTenant) handle.localChanges.emit(localChangeEvent(tenantId), seq);
  } else {
    await Promise.all([...placeholdersOfTenant].map(([tenantId, placeholders]) => sequenceCommitted(handle, tenantId, placeholders)));
  }
  return result;
}

export async function currentSeq(handle: DatabaseHandle, tenantId: string): Promise<number> {
  const row = await handle.db.selectFrom('tenants').select('last_seq').where('id', '=', tenantId).executeTakeFirstOrThrow();
  return Number(row.last_seq);
}

/**
 * Pokes a tenant's listeners without a new change: after a rights change of user `rightsOf`,
 * so that this user's apps pull at once (the poke says so: its sequence is one they already
 * have) and receive their new rights, and purge what they may no longer read.
 */
export async function pokeTenant(handle: DatabaseHandle, tenantId: string, rightsOf?: string): Promise<void> {
  const seq = await currentSeq(handle, tenantId);
  if (handle.dialect === 'postgres') {
    await sql`select pg_notify(${PG_CHANGES_CHANNEL}, ${encodePoke(tenantId, seq, rightsOf)})`.execute(handle.db);
  } else {
    handle.localChanges.emit(localChangeEvent(tenantId), seq, rightsOf);
  }
}
