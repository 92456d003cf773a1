import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// Reports (backend/src/reports/queries.ts) count each table's rows by the time the figure is
// about, one period range at a time: one index per table ending in that time, and for call legs
// (a million and more) one that holds every column the report reads, so it never visits the table.
// Branch grouping lists a tenant's customers' branches.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createIndex('calls_report')
    .on('calls')
    .columns(['tenant_id', 'started_at', 'direction', 'status', 'agent_id', 'answered_at', 'ended_at', 'customer_id', 'external_id', 'id'])
    .execute();
  await db.schema.createIndex('call_queue_report').on('call_queue').columns(['tenant_id', 'entered_at', 'state']).execute();
  await db.schema.createIndex('mail_messages_report').on('mail_messages').columns(['tenant_id', 'received_at']).execute();
  await db.schema.createIndex('mail_replies_report_sent').on('mail_replies').columns(['tenant_id', 'sent_at']).execute();
  await db.schema.createIndex('mail_replies_report_reviewed').on('mail_replies').columns(['tenant_id', 'reviewed_at']).execute();
  await db.schema.createIndex('call_handling_report').on('call_handling').columns(['tenant_id', 'handled_at']).execute();
  await db.schema.createIndex('callbacks_report_done').on('callbacks').columns(['tenant_id', 'done_at']).execute();
  await db.schema.createIndex('callbacks_report_due').on('callbacks').columns(['tenant_id', 'due_at']).execute();
  await db.schema.createIndex('customers_report_branch').on('customers').columns(['tenant_id', 'branch']).execute();
}
