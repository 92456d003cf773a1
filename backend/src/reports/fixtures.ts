import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAudit } from '../audit.js';
import { branchCallsDb } from '../branch-calls/schema.js';
import { callsDb } from '../calls/schema.js';
import type { Database } from '../db/schema.js';

/** Seconds after an ISO instant, as ISO text. */
export function after(iso: string, seconds: number): string {
  return new Date(Date.parse(iso) + seconds * 1000).toISOString();
}

export interface ReportLeg {
  callId: string;
  agentId: string | null;
  customerId: string | null;
  startedAt: string;
  direction?: 'inbound' | 'outbound';
  /** Seconds from ringing to answer; omitted: never answered. */
  answeredAfter?: number;
  /** Seconds from answer (or ringing, when unanswered) to the end. */
  endedAfter: number;
}

/** An ended call leg as the PBX and the app leave it. */
export async function insertReportLeg(db: Kysely<Database>, tenantId: string, leg: ReportLeg): Promise<void> {
  const answeredAt = leg.answeredAfter === undefined ? null : after(leg.startedAt, leg.answeredAfter);
  const endedAt = after(answeredAt ?? leg.startedAt, leg.endedAfter);
  await callsDb(db)
    .insertInto('calls')
    .values({
      id: randomUUID(),
      tenant_id: tenantId,
      external_id: leg.callId,
      status: 'ended',
      direction: leg.direction ?? 'inbound',
      agent_id: leg.agentId,
      from_number: '+81312345678',
      to_number: '100',
      started_at: leg.startedAt,
      answered_at: answeredAt,
      ended_at: endedAt,
      updated_at: endedAt,
      customer_id: leg.customerId,
      call_log_contact_id: null,
    })
    .execute();
}

export async function insertAbandonedCall(db: Kysely<Database>, tenantId: string, callId: string, customerId: string | null, enteredAt: string): Promise<void> {
  await callsDb(db)
    .insertInto('call_queue')
    .values({ tenant_id: tenantId, call_id: callId, caller: '+81661234567', customer_id: customerId, state: 'abandoned', entered_at: enteredAt, polled_at: enteredAt, left_at: after(enteredAt, 40) })
    .execute();
}

/** An inbound mail filed in the customer's first incident (the contact is any of the customer's). */
export async function insertReceivedMail(
  db: Kysely<Database>,
  tenantId: string,
  customer: { id: string; incidentIds: string[]; contactIds: string[] },
  receivedAt: string,
): Promise<string> {
  const id = randomUUID();
  const incidentId = customer.incidentIds[0];
  const contactId = customer.contactIds[0];
  if (!incidentId || !contactId) throw new Error('the customer needs an incident with a contact');
  await callsDb(db)
    .insertInto('mail_messages')
    .values({
      id,
      tenant_id: tenantId,
      kind: 'email',
      message_id: `${id}@example.jp`,
      in_reply_to: null,
      references_ids: '[]',
      from_address: 'customer@example.jp',
      from_name: '',
      reply_to: null,
      to_addresses: '[]',
      cc_addresses: '[]',
      recipient_address: 'support@example.test',
      subject: 'お問い合わせ',
      date_header: receivedAt,
      received_at: receivedAt,
      text_body: '',
      html_sanitized: null,
      raw: Buffer.from(''),
      raw_size: 0,
      raw_truncated: 0,
      thread_match: 'sender',
      customer_id: customer.id,
      incident_id: incidentId,
      contact_id: contactId,
      queue_state: 'closed',
      preferred_user_id: null,
      lease_user_id: null,
      lease_expires_at: null,
      lease_seen_at: null,
      leased_at: null,
      handled_by: null,
      handled_at: null,
      close_note: null,
    })
    .execute();
  return id;
}

export interface ReportReply {
  mailId: string;
  customer: { id: string; incidentIds: string[] };
  authorId: string;
  reviewerId: string;
  submittedAt: string;
  reviewedAt: string;
  outcome: 'sent' | 'returned';
}

/** A reply after its review: sent (at review time) or returned, with the audit event a return leaves. */
export async function insertReviewedReply(db: Kysely<Database>, tenantId: string, reply: ReportReply): Promise<void> {
  const id = randomUUID();
  await callsDb(db)
    .insertInto('mail_replies')
    .values({
      id,
      tenant_id: tenantId,
      mail_id: reply.mailId,
      call_key: null,
      incident_id: reply.customer.incidentIds[0] ?? '',
      customer_id: reply.customer.id,
      author_id: reply.authorId,
      state: reply.outcome,
      subject: 'Re: お問い合わせ',
      body: 'ご連絡ありがとうございます。',
      submitted_body: null,
      template_id: null,
      to_address: 'customer@example.jp',
      from_address: 'support@example.test',
      message_id: null,
      in_reply_to: null,
      references_ids: '[]',
      review_comment: reply.outcome === 'returned' ? '敬語を直してください' : null,
      reviewer_id: reply.reviewerId,
      reviewed_at: reply.reviewedAt,
      edited_by_reviewer: 0,
      submitted_at: reply.submittedAt,
      claim_id: null,
      claimed_at: null,
      transmit_started_at: null,
      attempts: reply.outcome === 'sent' ? 1 : 0,
      next_attempt_at: null,
      last_error: null,
      failure: null,
      sent_at: reply.outcome === 'sent' ? reply.reviewedAt : null,
      contact_id: null,
      created_at: reply.submittedAt,
      updated_at: reply.reviewedAt,
    })
    .execute();
  if (reply.outcome === 'returned') {
    await recordAudit(db, {
      tenantId,
      userId: reply.reviewerId,
      action: 'reply_returned',
      customerId: reply.customer.id,
      details: { replyId: id, authorId: reply.authorId, comment: '敬語を直してください' },
      at: reply.reviewedAt,
    });
  }
}

/** A "calls for you" call marked handled (the contact id is any of the customer's). */
export async function insertHandledCall(db: Kysely<Database>, tenantId: string, callKey: string, customer: { id: string; contactIds: string[] }, handledBy: string, handledAt: string): Promise<void> {
  await branchCallsDb(db)
    .insertInto('call_handling')
    .values({ tenant_id: tenantId, call_key: callKey, customer_id: customer.id, kind: 'contact', contact_id: customer.contactIds[0] ?? '', client_id: randomUUID(), handled_by: handledBy, handled_at: handledAt })
    .execute();
}

export async function insertCallback(
  db: Kysely<Database>,
  tenantId: string,
  callback: { customerId: string; flaggedBy: string; flaggedAt: string; dueAt: string; doneAt?: string; doneBy?: string },
): Promise<void> {
  await callsDb(db)
    .insertInto('callbacks')
    .values({
      id: randomUUID(),
      tenant_id: tenantId,
      customer_id: callback.customerId,
      call_id: null,
      contact_id: null,
      remote: '+81312345678',
      flagged_by: callback.flaggedBy,
      flagged_at: callback.flaggedAt,
      due_at: callback.dueAt,
      done_at: callback.doneAt ?? null,
      done_by: callback.doneBy ?? null,
      done_reason: callback.doneAt ? 'marked' : null,
      done_contact_id: null,
    })
    .execute();
}
