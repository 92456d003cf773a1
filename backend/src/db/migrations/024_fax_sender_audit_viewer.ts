import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// Faxes are filed by the sender's fax number the gateway names (backend/src/mail/fax.ts), kept
// in E.164 beside the mail so the desk can show it; the gateway's own address says nothing.
// The audit viewer (backend/src/audit-viewer.ts) filters a tenant's events by customer, user
// and action, newest first: one index per filter, each ending in the time it pages by.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema.alterTable('mail_messages').addColumn('fax_sender', 'text').execute();
  await db.schema.createIndex('audit_events_tenant_customer_at').on('audit_events').columns(['tenant_id', 'customer_id', 'at']).execute();
  await db.schema.createIndex('audit_events_tenant_user_at').on('audit_events').columns(['tenant_id', 'user_id', 'at']).execute();
  await db.schema.createIndex('audit_events_tenant_action_at').on('audit_events').columns(['tenant_id', 'action', 'at']).execute();
}
