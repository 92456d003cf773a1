import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// Security hardening (issue 7): the login throttle's shared state, the session idle timeout,
// what a customer's visibility was before a change (so the feed deletes only what a user
// could have held), and which call legs the PBX itself reported.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  // One row per throttled key (an account or a source address). In the database, not in
  // process memory, so every backend instance on PostgreSQL counts the same failures.
  await db.schema
    .createTable('login_throttle')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('window_started_at', 'text', (c) => c.notNull())
    .addColumn('locked_until', 'text')
    .execute();

  await db.schema.alterTable('sessions').addColumn('last_used_at', 'text').execute();

  // JSON {"classification":n,"branch":s|null} of a customer before a visibility change; null
  // on entries written before this migration (the feed then keeps its old, wider behaviour).
  await db.schema.alterTable('change_log').addColumn('visibility_before', 'text').execute();

  await db.schema.alterTable('calls').addColumn('pbx_reported', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}
