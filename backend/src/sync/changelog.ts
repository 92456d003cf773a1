import { sql, type Transaction } from 'kysely';
import type { DatabaseHandle, SqlDialect } from '../db/database.js';
import type { ChangeLogTable, Database } from '../db/schema.js';
import { encodePoke, localChangeEvent, PG_CHANGES_CHANNEL } from './feed.js';

export interface ChangeEntry {
  tenantId: string;
  entity: ChangeLogTable['entity'];
  entityId: string;
  customerId: string;
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
  recordChange(entry: ChangeEntry): Promise<number>;
}

/**
 * Appends one change-log entry with the tenant's next sequence.
 *
 * Important: the sequence comes from bumping `tenants.last_seq`, and that UPDATE holds the
 * tenant row's lock until the transaction ends (it locks exactly like SELECT … FOR UPDATE on
 * PostgreSQL). A second writer of the same tenant waits at its own bump until the first one
 * commits or rolls back, so sequences are handed out in commit order with no gaps: a reader
 * that has seen sequence N has already seen every sequence below N. A database sequence or an
 * identity column would not give this: a transaction holding N may commit after N+1 was read.
 * On SQLite every transaction begins IMMEDIATE (db/database.ts), which serialises writers.
 */
async function appendChange(trx: Transaction<Database>, entry: ChangeEntry): Promise<number> {
  const bumped = await trx
    .updateTable('tenants')
    .set({ last_seq: sql<number>`last_seq + 1` })
    .where('id', '=', entry.tenantId)
    .returning('last_seq')
    .executeTakeFirst();
  if (!bumped) throw new Error(`change log: unknown tenant ${entry.tenantId}`);
  const seq = Number(bumped.last_seq);
  await trx
    .insertInto('change_log')
    .values({
      tenant_id: entry.tenantId,
      seq,
      entity: entry.entity,
      entity_id: entry.entityId,
      customer_id: entry.customerId,
      op: entry.op,
      visibility_changed: entry.visibilityChanged ? 1 : 0,
      visibility_before: entry.visibilityBefore ? JSON.stringify(entry.visibilityBefore) : null,
      at: new Date().toISOString(),
    })
    .execute();
  return seq;
}

/**
 * Runs `work` in one transaction and, once it commits, pokes every listener of the tenants
 * whose change log advanced: through NOTIFY on PostgreSQL (queued inside the transaction,
 * delivered by the server only at commit, to every backend instance), through the in-process
 * emitter on SQLite (after commit; SQLite serves one process).
 */
export async function writeTransaction<T>(handle: DatabaseHandle, work: (tx: WriteTx) => Promise<T>): Promise<T> {
  const lastSeqOfTenant = new Map<string, number>();
  const result = await handle.db.transaction().execute(async (trx) => {
    const value = await work({
      trx,
      dialect: handle.dialect,
      recordChange: async (entry) => {
        const seq = await appendChange(trx, entry);
        lastSeqOfTenant.set(entry.tenantId, seq);
        return seq;
      },
    });
    if (handle.dialect === 'postgres') {
      for (const [tenantId, seq] of lastSeqOfTenant) {
        await sql`select pg_notify(${PG_CHANGES_CHANNEL}, ${encodePoke(tenantId, seq)})`.execute(trx);
      }
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
