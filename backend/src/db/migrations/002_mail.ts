import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// The e-mail channel: recipient addresses, inbound mail and attachments, dispatch leases,
// reply templates and replies with their review and sending state, agent presence and the
// minimal call state that pauses dispatch. Table types: backend/src/mail/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';

  await db.schema.alterTable('incidents').addColumn('ref_no', 'integer').execute();
  await db.schema.createIndex('incidents_tenant_ref').on('incidents').columns(['tenant_id', 'ref_no']).unique().execute();

  // Inbound mail finds its customer by sender address whatever its case: an expression index
  // keeps that lookup indexed on both dialects.
  await sql`create index customer_emails_lower on customer_emails (tenant_id, lower(email))`.execute(db);

  await db.schema
    .createTable('incident_ref_counters')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('last_ref', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('mail_addresses')
    .addColumn('address', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('support', 'fax')`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('mail_settings')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('lease_seconds', 'integer')
    .addColumn('busy_calls_per_agent', 'real')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('mail_messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('email', 'fax')`))
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('in_reply_to', 'text')
    .addColumn('references_ids', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('from_address', 'text', (c) => c.notNull())
    .addColumn('from_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('reply_to', 'text')
    .addColumn('to_addresses', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('cc_addresses', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('recipient_address', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('date_header', 'text')
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addColumn('text_body', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('html_sanitized', 'text')
    .addColumn('raw', blob, (c) => c.notNull())
    .addColumn('raw_size', 'integer', (c) => c.notNull())
    .addColumn('raw_truncated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('thread_match', 'text', (c) =>
      c.notNull().check(sql`thread_match in ('in_reply_to', 'references', 'subject_token', 'sender', 'new_customer')`),
    )
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('contact_id', 'text', (c) => c.notNull().references('contacts.id'))
    .addColumn('queue_state', 'text', (c) => c.notNull().check(sql`queue_state in ('waiting', 'answered', 'closed')`))
    .addColumn('preferred_user_id', 'text', (c) => c.references('users.id'))
    .addColumn('lease_user_id', 'text', (c) => c.references('users.id'))
    .addColumn('lease_expires_at', 'text')
    .addColumn('lease_seen_at', 'text')
    .addColumn('leased_at', 'text')
    .addColumn('offer_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('handled_by', 'text', (c) => c.references('users.id'))
    .addColumn('handled_at', 'text')
    .addColumn('close_note', 'text')
    .addUniqueConstraint('mail_messages_tenant_message_id', ['tenant_id', 'message_id'])
    .execute();
  // Dispatch scans waiting mail oldest first; the partial index keeps that scan to the queue.
  await db.schema
    .createIndex('mail_messages_queue')
    .on('mail_messages')
    .columns(['tenant_id', 'received_at'])
    .where(sql.ref('queue_state'), '=', 'waiting')
    .execute();
  await db.schema.createIndex('mail_messages_lease_user').on('mail_messages').column('lease_user_id').execute();
  await db.schema.createIndex('mail_messages_incident').on('mail_messages').column('incident_id').execute();

  await db.schema
    .createTable('mail_attachments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mail_id', 'text', (c) => c.notNull().references('mail_messages.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('content', blob)
    .addColumn('rejected_reason', 'text', (c) => c.check(sql`rejected_reason in ('too_large', 'type_not_allowed', 'too_many')`))
    .addColumn('content_id', 'text')
    .execute();
  await db.schema.createIndex('mail_attachments_mail').on('mail_attachments').column('mail_id').execute();

  await db.schema
    .createTable('mail_templates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('mail_templates_tenant_name', ['tenant_id', 'name'])
    .execute();

  await db.schema
    .createTable('mail_replies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('mail_id', 'text', (c) => c.notNull().references('mail_messages.id'))
    .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('author_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('draft', 'pending_review', 'approved', 'sending', 'sent', 'returned', 'failed')`),
    )
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('submitted_body', 'text')
    .addColumn('template_id', 'text', (c) => c.references('mail_templates.id'))
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('from_address', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text')
    .addColumn('in_reply_to', 'text', (c) => c.notNull())
    .addColumn('references_ids', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('review_comment', 'text')
    .addColumn('reviewer_id', 'text', (c) => c.references('users.id'))
    .addColumn('reviewed_at', 'text')
    .addColumn('edited_by_reviewer', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('submitted_at', 'text')
    .addColumn('claim_id', 'text')
    .addColumn('claimed_at', 'text')
    .addColumn('transmit_started_at', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('failure', 'text', (c) => c.check(sql`failure in ('rejected', 'interrupted', 'gave_up')`))
    .addColumn('sent_at', 'text')
    .addColumn('contact_id', 'text', (c) => c.references('contacts.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mail_replies_tenant_state').on('mail_replies').columns(['tenant_id', 'state']).execute();
  await db.schema.createIndex('mail_replies_author').on('mail_replies').columns(['author_id', 'state']).execute();
  await db.schema.createIndex('mail_replies_message_id').on('mail_replies').columns(['tenant_id', 'message_id']).execute();
  await db.schema.createIndex('mail_replies_mail').on('mail_replies').column('mail_id').execute();

  await db.schema
    .createTable('agent_presence')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('available', 'on_call', 'after_call_work', 'break', 'offline')`),
    )
    .addColumn('since', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('agent_presence_tenant').on('agent_presence').columns(['tenant_id', 'status']).execute();

  await db.schema
    .createTable('calls')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('external_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('ringing', 'connected', 'ended')`))
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction in ('inbound', 'outbound')`))
    .addColumn('agent_id', 'text', (c) => c.references('users.id'))
    .addColumn('from_number', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('to_number', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('answered_at', 'text')
    .addColumn('ended_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('calls_tenant_status').on('calls').columns(['tenant_id', 'status']).execute();
  await db.schema.createIndex('calls_tenant_started').on('calls').columns(['tenant_id', 'started_at']).execute();
}
