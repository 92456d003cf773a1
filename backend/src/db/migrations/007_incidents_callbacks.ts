import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// The call history's callbacks: a wrap-up's "callback needed" becomes a row here, open until a
// later call with that customer is logged or someone marks it done. The callback worklist of
// the CTI issue adds due times and team views on this same table (do not build a second one).
// The history itself reads `calls` (002/003), by agent: hence the index.
// Table types: backend/src/calls/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('callbacks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('call_id', 'text')
    .addColumn('contact_id', 'text')
    .addColumn('remote', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('flagged_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('flagged_at', 'text', (c) => c.notNull())
    .addColumn('due_at', 'text')
    .addColumn('done_at', 'text')
    .addColumn('done_by', 'text')
    .addColumn('done_reason', 'text', (c) => c.check(sql`done_reason in ('called', 'marked')`))
    .addColumn('done_contact_id', 'text')
    .execute();
  await db.schema.createIndex('callbacks_customer_open').on('callbacks').columns(['tenant_id', 'customer_id', 'done_at']).execute();
  await db.schema.createIndex('callbacks_flagged_by').on('callbacks').columns(['tenant_id', 'flagged_by', 'flagged_at']).execute();
  await db.schema.createIndex('calls_agent_started').on('calls').columns(['tenant_id', 'agent_id', 'started_at']).execute();
}
