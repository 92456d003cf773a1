import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// "Call me" from the portal (issue 10 item 6): one row per request, its state (waiting →
// offered → dialling → done, or cancelled), whom it is offered to until when, who passed on
// it (JSON userId → time, so a decliner is skipped for a while), and who dialled. `client_id`
// is the portal page's id of the press: a second press with it is the same request. The
// tenant's hours for booking requests made while closed sit in `callme_hours` (no row: open
// around the clock). Table types: backend/src/callme/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('callme_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('preferred_at', 'text')
    .addColumn('due_at', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('offered_to', 'text')
    .addColumn('offer_reason', 'text')
    .addColumn('offer_expires_at', 'text')
    .addColumn('passed_by', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('accepted_by', 'text')
    .addColumn('accepted_at', 'text')
    .addColumn('call_id', 'text')
    .addColumn('outcome', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('ended_at', 'text')
    .addUniqueConstraint('callme_requests_client', ['tenant_id', 'customer_id', 'client_id'])
    .execute();
  await db.schema.createIndex('callme_requests_open').on('callme_requests').columns(['state', 'due_at']).execute();
  await db.schema.createIndex('callme_requests_customer').on('callme_requests').columns(['tenant_id', 'customer_id', 'created_at']).execute();
  await db.schema.createIndex('callme_requests_offered_to').on('callme_requests').columns(['tenant_id', 'offered_to', 'state']).execute();

  await db.schema
    .createTable('callme_hours')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('time_zone', 'text', (c) => c.notNull())
    .addColumn('days', 'text', (c) => c.notNull())
    .addColumn('opens_at', 'text', (c) => c.notNull())
    .addColumn('closes_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}
