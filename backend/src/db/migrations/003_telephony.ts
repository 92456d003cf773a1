import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// Telephony: per-tenant softphone settings and disposition codes, and what the call log needs
// on top of the `calls` table of 002_mail (the matched customer, which events were reported
// by whom, the contact a PBX-reported call became). Table types: backend/src/telephony/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('telephony_settings')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('customer_id_header', 'text')
    .addColumn('after_call_work_seconds', 'integer')
    .addColumn('dtmf_mode', 'text', (c) => c.check(sql`dtmf_mode in ('rfc4733', 'info')`))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('call_dispositions')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('call_dispositions_pk', ['tenant_id', 'code'])
    .execute();

  await db.schema.alterTable('calls').addColumn('customer_id', 'text').execute();
  await db.schema.alterTable('calls').addColumn('reported_events', 'text', (c) => c.notNull().defaultTo('')).execute();
  await db.schema.alterTable('calls').addColumn('app_reported', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('calls').addColumn('call_log_contact_id', 'text').execute();
  // The agent's stale ringing calls are closed when a new call rings for them.
  await db.schema.createIndex('calls_agent_status').on('calls').columns(['agent_id', 'status']).execute();
  // "The agent who handled this caller most recently": call contacts of a customer, newest first.
  await db.schema.createIndex('contacts_customer_kind').on('contacts').columns(['customer_id', 'kind', 'occurred_at']).execute();
}
