import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

const OLD_ROLES = "role in ('agent', 'supervisor', 'admin')";
const NEW_ROLES = "role in ('agent', 'supervisor', 'admin', 'partner')";

/**
 * SQLite cannot alter a CHECK constraint, so `users` is rebuilt the way SQLite's documentation
 * says (ALTER TABLE, "making other kinds of table schema changes"): foreign keys off, a copy with
 * the new CHECK made from the table's own stored definition (so columns added by any earlier
 * migration come along), the copy renamed into place, its indexes remade, the foreign keys
 * checked, and foreign keys back on. Kysely runs SQLite migrations outside a transaction, on
 * the one connection, which is what lets `foreign_keys` be switched here.
 */
async function widenRolesOnSqlite(db: Kysely<unknown>): Promise<void> {
  const table = await sql<{ sql: string }>`select sql from sqlite_master where type = 'table' and name = 'users'`.execute(db);
  const definition = table.rows[0]?.sql;
  if (!definition || !definition.includes(OLD_ROLES)) throw new Error('023_exchange: the users table has no role CHECK to widen');
  const indexes = await sql<{ sql: string }>`select sql from sqlite_master where type = 'index' and tbl_name = 'users' and sql is not null`.execute(db);
  const copy = definition.replace(OLD_ROLES, NEW_ROLES).replace(/^CREATE TABLE\s+("users"|users)/i, 'CREATE TABLE "users_023"');
  // Only references to users are this rebuild's business: rows already dangling elsewhere (or
  // already dangling into users) before it are counted first and are not its failure.
  const usersViolations = async () =>
    (await sql<{ parent: string }>`pragma foreign_key_check`.execute(db)).rows.filter((row) => row.parent === 'users').length;
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    const before = await usersViolations();
    await sql`begin immediate`.execute(db);
    try {
      await sql.raw(copy).execute(db);
      await sql`insert into users_023 select * from users`.execute(db);
      await sql`drop table users`.execute(db);
      await sql`alter table users_023 rename to users`.execute(db);
      for (const index of indexes.rows) await sql.raw(index.sql).execute(db);
      if ((await usersViolations()) > before) throw new Error('023_exchange: foreign keys broken by the users rebuild');
      await sql`commit`.execute(db);
    } catch (error) {
      await sql`rollback`.execute(db);
      throw error;
    }
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}

async function widenRolesOnPostgres(db: Kysely<unknown>): Promise<void> {
  const checks = await sql<{ conname: string }>`
    select conname from pg_constraint
    where conrelid = 'users'::regclass and contype = 'c' and pg_get_constraintdef(oid) like '%role%'`.execute(db);
  for (const check of checks.rows) await sql`alter table users drop constraint ${sql.id(check.conname)}`.execute(db);
  await sql.raw(`alter table users add constraint users_role_check check (${NEW_ROLES})`).execute(db);
}

// The PII-stripped exchange (backend/src/exchange): the `partner` role and a partner user's
// organisation, the exports as built (their content in the database, never in plain files;
// the per-export pseudonym key is never stored), and which partner organisations each is
// shared with. Table types: backend/src/exchange/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  if (dialect === 'sqlite') await widenRolesOnSqlite(db);
  else await widenRolesOnPostgres(db);
  await db.schema.alterTable('users').addColumn('partner_org', 'text').execute();

  await db.schema
    .createTable('exchange_exports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('filter', 'text', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('record_count', 'integer', (c) => c.notNull())
    .addColumn('content_json', 'text', (c) => c.notNull())
    .addColumn('content_csv', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('exchange_exports_tenant').on('exchange_exports').columns(['tenant_id', 'created_at']).execute();
  await db.schema
    .createTable('exchange_shares')
    .addColumn('export_id', 'text', (c) => c.notNull().references('exchange_exports.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('partner_org', 'text', (c) => c.notNull())
    .addColumn('shared_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('shared_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('exchange_shares_pk', ['export_id', 'partner_org'])
    .execute();
  await db.schema.createIndex('exchange_shares_partner').on('exchange_shares').columns(['tenant_id', 'partner_org']).execute();
}
