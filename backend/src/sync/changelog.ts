import { sql, type Transaction } from 'kysely';
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

function changeLogRow(tenantId: string, seq: number, entry: ChangeEntry, at: string) {
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

/**
 * Appends a transaction's change-log entries of one tenant, in order, when its work is done.
 *
 * Important: sequences are handed out in commit order with no gaps, so that a reader that has
 * seen sequence N has already seen every sequence below N (a database sequence or an identity
 * column would not give this: a transaction holding N may commit after N+1 was read). They come
 * from bumping `tenants.last_seq`, and that UPDATE holds the tenant row's lock until the
 * transaction ends (it locks exactly like SELECT … FOR UPDATE on PostgreSQL): a second writer
 * of the same tenant waits at its own bump until the first one has committed or rolled back.
 *
 * That lock serialises every writer of a tenant, so it is held as briefly as possible. On
 * PostgreSQL the entries are inserted with placeholder sequences and a deferred trigger gives
 * them theirs inside COMMIT (migration 030), which also NOTIFYs: the lock is held for the commit
 * alone, never across a round trip to this process. On SQLite every transaction begins
 * IMMEDIATE (db/database.ts), which serialises writers anyway; the bump and the rows are the last
 * statements of the transaction and this answers the tenant's new last sequence.
 */
async function appendChanges(trx: Transaction<Database>, dialect: SqlDialect, tenantId: string, entries: readonly ChangeEntry[]): Promise<number | null> {
  const at = new Date().toISOString();
  if (dialect === 'postgres') {
    await trx
      .insertInto('change_log')
      .values(entries.map((entry) => ({ ...changeLogRow(tenantId, 0, entry, at), seq: sql<number>`-nextval('change_log_pending_seq')` })))
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
 * Runs `work` in one transaction, appends the change-log entries it recorded, and once it
 * commits pokes every listener of the tenants whose change log advanced: through NOTIFY on
 * PostgreSQL (sent by migration 030's trigger inside COMMIT, delivered to every backend
 * instance), through the in-process emitter on SQLite (after commit; SQLite serves one process).
 */
export async function writeTransaction<T>(handle: DatabaseHandle, work: (tx: WriteTx) => Promise<T>): Promise<T> {
  const lastSeqOfTenant = new Map<string, number>();
  const result = await handle.db.transaction().execute(async (trx) => {
    lastSeqOfTenant.clear();
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
      if (last !== null) lastSeqOfTenant.set(tenantId, last);
    }
    return value;
  });
  if (handle.dialect === 'sqlite') {
    for (const [tenantId, seq] of lastSeqOfTenant) handle.localChanges.emit(localChangeEvent(tenantId), seq);
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
