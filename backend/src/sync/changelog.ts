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
export async function appendChanges(trx: Transaction<Database>, dialect: SqlDialect, tenantId: string, entries: readonly ChangeEntry[]): Promise<number | null> {
  const at = new Date().toISOString();
  if (dialect === 'postgres') {
    await trx
      .insertInto('change_log')
      .values(entries.map((entry) => ({ ...changeLogRow(tenantId, 0, entry, at), seq: pendingSeq() })))
      .execute();
    return null;
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
  return last;
}

/**
 * One sequencing run at a time per tenant and process, and one more queued behind it: a caller
 * gets a run that starts after its call (the run under way may have read the log before the
 * caller's commit), and every writer that committed meanwhile shares that one run.
 */
function coalescedRuns(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const start = (): Promise<void> => {
    const current: Promise<void> = run().finally(() => {
      if (running === current) running = null;
    });
    running = current;
    return current;
  };
  const settled = () => undefined;
  return () => {
    if (running === null) return start();
    queued ??= running.then(settled, settled).then(() => {
      queued = null;
      return start();
    });
    return queued;
  };
}

const sequencersOf = new WeakMap<DatabaseHandle, Map<string, () => Promise<void>>>();

/**
 * PostgreSQL: numbers the tenant's committed change-log entries that still hold placeholders
 * and pokes every backend instance once with the new last sequence (NOTIFY from migration 031's
 * function, delivered when it commits). Resolves once a run that began after this call has
 * committed, so the caller's own committed entries have their sequences.
 */
export function sequenceCommitted(handle: DatabaseHandle, tenantId: string): Promise<void> {
  let byTenant = sequencersOf.get(handle);
  if (!byTenant) {
    byTenant = new Map();
    sequencersOf.set(handle, byTenant);
  }
  let sequence = byTenant.get(tenantId);
  if (!sequence) {
    sequence = coalescedRuns(async () => {
      await sql`select change_log_sequence(${tenantId})`.execute(handle.db);
    });
    byTenant.set(tenantId, sequence);
  }
  return sequence();
}

/**
 * PostgreSQL: numbers what a backend left unnumbered, having stopped between a writer's commit
 * and its sequencing run, or whose run failed after the commit (the writer then got the error;
 * any later write of the tenant numbers those entries too). Run at start.
 */
export async function sequenceAllCommitted(handle: DatabaseHandle): Promise<void> {
  if (handle.dialect !== 'postgres') return;
  const tenants = await handle.db.selectFrom('tenants').select('id').execute();
  for (const tenant of tenants) await sequenceCommitted(handle, tenant.id);
}

/**
 * Runs `work` in one transaction, appends the change-log entries it recorded, and once it
 * commits pokes every listener of the tenants whose change log advanced: on PostgreSQL through
 * the sequencing run's NOTIFY (delivered to every backend instance), on SQLite through the
 * in-process emitter (SQLite serves one process). It resolves once the entries have their
 * sequences, so a pull that follows sees them.
 */
export async function writeTransaction<T>(handle: DatabaseHandle, work: (tx: WriteTx) => Promise<T>): Promise<T> {
  const lastSeqOfTenant = new Map<string, number>();
  const changedTenants = new Set<string>();
  const result = await handle.db.transaction().execute(async (trx) => {
    lastSeqOfTenant.clear();
    changedTenants.clear();
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
      const last = await appendChanges(trx, handle.dialect, tenantId, recorded.get(tenantId)!);
      changedTenants.add(tenantId);
      if (last !== null) lastSeqOfTenant.set(tenantId, last);
    }
    return value;
  });
  if (handle.dialect === 'sqlite') {
    for (const [tenantId, seq] of lastSeqOfTenant) handle.localChanges.emit(localChangeEvent(tenantId), seq);
  } else {
    await Promise.all([...changedTenants].map((tenantId) => sequenceCommitted(handle, tenantId)));
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
