import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// "Calls for you" reach the apps' caches through the change log: a new entity `branch_call`
// (entity_id: the call's key, its SIP Call-ID or leg id), and customer_id becomes nullable, since
// a call from an unknown number has no customer. SQLite cannot change a CHECK or drop NOT NULL in
// place: the table is rebuilt (nothing references change_log). Table type: db/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  if (dialect === 'postgres') {
    await sql`alter table change_log drop constraint change_log_entity_check`.execute(db);
    await sql`alter table change_log add constraint change_log_entity_check check (entity in ('customer', 'incident', 'contact', 'branch_call'))`.execute(db);
    await sql`alter table change_log alter column customer_id drop not null`.execute(db);
    return;
  }
  await db.schema
    .createTable('change_log_next')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull().check(sql`entity in ('customer', 'incident', 'contact', 'branch_call')`))
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text')
    .addColumn('op', 'text', (c) => c.notNull().check(sql`op in ('upsert', 'delete')`))
    .addColumn('visibility_changed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('visibility_before', 'text')
    .addPrimaryKeyConstraint('change_log_pk', ['tenant_id', 'seq'])
    .execute();
  await sql`insert into change_log_next (tenant_id, seq, entity, entity_id, customer_id, op, visibility_changed, at, visibility_before)
    select tenant_id, seq, entity, entity_id, customer_id, op, visibility_changed, at, visibility_before from change_log`.execute(db);
  await db.schema.dropTable('change_log').execute();
  await db.schema.alterTable('change_log_next').renameTo('change_log').execute();
}
