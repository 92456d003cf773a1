import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// A reply's origin is either an inbound mail (as before) or a call of "calls for you": the rep
// writes to a caller nobody could answer. mail_id becomes nullable, call_key (the calls-for-you
// key: a call's SIP Call-ID, or its leg id) names the call, and a CHECK keeps exactly one of
// them set. in_reply_to is null for a message that answers no mail. One table rather than a
// second one for call mails, so review, sending, retries and threading stay a single path.
// SQLite cannot drop NOT NULL or add a CHECK in place: the table is rebuilt (nothing references
// mail_replies, so foreign keys stay on). Table types: backend/src/mail/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  if (dialect === 'postgres') {
    await sql`alter table mail_replies alter column mail_id drop not null`.execute(db);
    await sql`alter table mail_replies alter column in_reply_to drop not null`.execute(db);
    await sql`alter table mail_replies add column call_key text`.execute(db);
    await sql`alter table mail_replies add constraint mail_replies_one_origin check ((mail_id is null) <> (call_key is null))`.execute(db);
  } else {
    await db.schema
      .createTable('mail_replies_next')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('mail_id', 'text', (c) => c.references('mail_messages.id'))
      .addColumn('call_key', 'text')
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
      .addColumn('in_reply_to', 'text')
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
      .addCheckConstraint('mail_replies_one_origin', sql`(mail_id is null) <> (call_key is null)`)
      .execute();
    await sql`insert into mail_replies_next (
        id, tenant_id, mail_id, call_key, incident_id, customer_id, author_id, state, subject, body, submitted_body,
        template_id, to_address, from_address, message_id, in_reply_to, references_ids, review_comment, reviewer_id,
        reviewed_at, edited_by_reviewer, submitted_at, claim_id, claimed_at, transmit_started_at, attempts,
        next_attempt_at, last_error, failure, sent_at, contact_id, created_at, updated_at)
      select
        id, tenant_id, mail_id, null, incident_id, customer_id, author_id, state, subject, body, submitted_body,
        template_id, to_address, from_address, message_id, in_reply_to, references_ids, review_comment, reviewer_id,
        reviewed_at, edited_by_reviewer, submitted_at, claim_id, claimed_at, transmit_started_at, attempts,
        next_attempt_at, last_error, failure, sent_at, contact_id, created_at, updated_at
      from mail_replies`.execute(db);
    await db.schema.dropTable('mail_replies').execute();
    await db.schema.alterTable('mail_replies_next').renameTo('mail_replies').execute();
    await db.schema.createIndex('mail_replies_tenant_state').on('mail_replies').columns(['tenant_id', 'state']).execute();
    await db.schema.createIndex('mail_replies_author').on('mail_replies').columns(['author_id', 'state']).execute();
    await db.schema.createIndex('mail_replies_message_id').on('mail_replies').columns(['tenant_id', 'message_id']).execute();
    await db.schema.createIndex('mail_replies_mail').on('mail_replies').column('mail_id').execute();
  }
  await db.schema.createIndex('mail_replies_call').on('mail_replies').columns(['tenant_id', 'call_key']).execute();
}
