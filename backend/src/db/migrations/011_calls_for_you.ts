import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// "Calls for you" (branch reps): which call was handled and how, the tenant's seminars and their
// bookings, the tenant's callback text template, and the two rights of the feature on users.
// The calls themselves stay in `calls` (002/003): this only adds what reps do about them.
// Table types: backend/src/branch-calls/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema.alterTable('users').addColumn('calls_view_only', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('users').addColumn('calls_all_branches', 'integer', (c) => c.notNull().defaultTo(0)).execute();

  await db.schema
    .createTable('call_handling')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    // The SIP Call-ID (calls.external_id), or the leg id of a call without one: every leg of a call is one entry.
    .addColumn('call_key', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('contact', 'visit', 'seminar')`))
    .addColumn('contact_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('handled_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('handled_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('call_handling_pk', ['tenant_id', 'call_key'])
    .execute();

  await db.schema
    .createTable('seminars')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('starts_at', 'text', (c) => c.notNull())
    .addColumn('place', 'text', (c) => c.notNull())
    .addColumn('capacity', 'integer', (c) => c.notNull().check(sql`capacity > 0`))
    .addColumn('seats_taken', 'integer', (c) => c.notNull().defaultTo(0).check(sql`seats_taken >= 0`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('seminars_tenant_starts').on('seminars').columns(['tenant_id', 'starts_at']).execute();

  await db.schema
    .createTable('seminar_bookings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('seminar_id', 'text', (c) => c.notNull().references('seminars.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('seats', 'integer', (c) => c.notNull().check(sql`seats > 0`))
    .addColumn('contact_id', 'text', (c) => c.notNull())
    .addColumn('booked_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('booked_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('callback_templates')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  // "Since the last login": the user's login audit events, newest first.
  await db.schema.createIndex('calls_for_you_audit_logins').on('audit_events').columns(['tenant_id', 'user_id', 'action', 'at']).execute();
  // Calls of a customer (the rep's customers' calls); calls by time have calls_tenant_started (002).
  await db.schema.createIndex('calls_for_you_by_customer').on('calls').columns(['tenant_id', 'customer_id', 'started_at']).execute();
  // Every leg of a call, by its Call-ID.
  await db.schema.createIndex('calls_for_you_by_call_id').on('calls').columns(['tenant_id', 'external_id']).execute();
}
