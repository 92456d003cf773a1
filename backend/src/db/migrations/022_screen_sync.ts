import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// Screen sync (backend/src/screen-sync): a customer's share of their portal page during a call,
// bound to that call and, once the code is entered, to its operator; and the rrweb event batches
// relayed to that operator (kept only since the latest full snapshot). Table types:
// backend/src/screen-sync/store.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('screen_sync_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id'))
    .addColumn('agent_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('code_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('end_reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('ended_at', 'text')
    .addColumn('highlight', 'text')
    .addColumn('window_started_at', 'text', (c) => c.notNull())
    .addColumn('window_batches', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('stored_bytes', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('screen_sync_sessions_call').on('screen_sync_sessions').columns(['tenant_id', 'call_id', 'state']).execute();
  await db.schema.createIndex('screen_sync_sessions_customer').on('screen_sync_sessions').columns(['customer_id', 'state']).execute();
  await db.schema
    .createTable('screen_sync_batches')
    .addColumn('session_id', 'text', (c) => c.notNull().references('screen_sync_sessions.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('checkout', 'integer', (c) => c.notNull())
    .addColumn('bytes', 'integer', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('screen_sync_batches_pk', ['session_id', 'seq'])
    .execute();
}
