import { sql, type Kysely, type Selectable } from 'kysely';
import type { MailView, ReplyView } from '../../../shared/api.js';
import type { Classification, User } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import { HttpError } from '../http/errors.js';
import type { MailDatabase, MailRepliesTable } from './schema.js';
import { formatIncidentRef } from './threading.js';

function parseList(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Mails of a tenant by id, as `viewer` is shown them. Callers check that the viewer may see each
 * mail's customer first; other customers the mail touches (the one its token points at, others
 * with the sender's address) are named only when the viewer may see them.
 */
export async function loadMailViews(
  db: Kysely<MailDatabase>,
  tenantId: string,
  ids: readonly string[],
  viewer: User,
): Promise<Map<string, MailView>> {
  const result = new Map<string, MailView>();
  if (ids.length === 0) return result;
  const rows = await db
    .selectFrom('mail_messages as m')
    .innerJoin('customers as c', 'c.id', 'm.customer_id')
    .innerJoin('incidents as i', 'i.id', 'm.incident_id')
    .select([
      'm.id', 'm.kind', 'm.message_id', 'm.subject', 'm.from_address', 'm.from_name', 'm.reply_to', 'm.to_addresses',
      'm.cc_addresses', 'm.recipient_address', 'm.received_at', 'm.date_header', 'm.text_body', 'm.html_sanitized',
      'm.raw_size', 'm.raw_truncated', 'm.customer_id', 'm.incident_id', 'm.contact_id', 'm.thread_match',
      'm.queue_state', 'm.lease_user_id', 'm.lease_expires_at', 'm.handled_by', 'm.close_note',
      'm.match_state', 'm.match_problem', 'm.claimed_incident_id', 'm.html_lost_text', 'm.fax_sender',
      'c.name as customer_name', 'i.title as incident_title', 'i.ref_no',
    ])
    .where('m.tenant_id', '=', tenantId)
    .where('m.id', 'in', [...ids])
    .execute();
  const attachments = await db
    .selectFrom('mail_attachments')
    .select(['id', 'mail_id', 'filename', 'content_type', 'size', 'rejected_reason'])
    .where('tenant_id', '=', tenantId)
    .where('mail_id', 'in', [...ids])
    .orderBy('mail_id')
    .orderBy('position')
    .execute();
  const customerIds = [...new Set(rows.map((row) => row.customer_id))];
  const customerEmails = customerIds.length === 0 ? [] : await db
    .selectFrom('customer_emails')
    .select(['customer_id', 'email'])
    .where('tenant_id', '=', tenantId)
    .where('customer_id', 'in', customerIds)
    .orderBy('customer_id')
    .orderBy('position')
    .execute();
  const faxNumbers = [...new Set(rows.flatMap((row) => (row.fax_sender ? [row.fax_sender] : [])))];
  const faxSenders = faxNumbers.length === 0 ? [] : await db
    .selectFrom('customer_phones')
    .select(['customer_id', 'e164'])
    .where('tenant_id', '=', tenantId)
    .where('e164', 'in', faxNumbers)
    .execute();
  // A fax's From is its gateway: who sent it is the number the gateway named, not the address.
  const senderAddresses = [...new Set(rows.filter((row) => row.kind === 'email').map((row) => row.from_address.toLowerCase()))];
  const senderCustomers = senderAddresses.length === 0 ? [] : await db
    .selectFrom('customer_emails as e')
    .innerJoin('customers as c', 'c.id', 'e.customer_id')
    .select([sql<string>`lower(e.email)`.as('address'), 'c.id', 'c.name', 'c.classification', 'c.branch'])
    .where('e.tenant_id', '=', tenantId)
    .where(sql<string>`lower(e.email)`, 'in', senderAddresses)
    .orderBy('c.name')
    .execute();
  const claimedIds = [...new Set(rows.flatMap((row) => (row.claimed_incident_id ? [row.claimed_incident_id] : [])))];
  const claimed = claimedIds.length === 0 ? [] : await db
    .selectFrom('incidents as i')
    .innerJoin('customers as c', 'c.id', 'i.customer_id')
    .select(['i.id', 'i.title', 'i.ref_no', 'c.id as customer_id', 'c.name as customer_name', 'c.classification', 'c.branch'])
    .where('i.tenant_id', '=', tenantId)
    .where('i.id', 'in', claimedIds)
    .execute();
  const visible = (customer: { classification: number; branch: string | null }) =>
    maySeeCustomer(viewer, { classification: customer.classification as Classification, branch: customer.branch });
  for (const row of rows) {
    const emails = customerEmails.filter((e) => e.customer_id === row.customer_id).map((e) => e.email);
    const fromLower = row.from_address.toLowerCase();
    const claim = row.claimed_incident_id ? claimed.find((c) => c.id === row.claimed_incident_id) : undefined;
    const claimVisible = claim !== undefined && visible(claim);
    result.set(row.id, {
      id: row.id,
      kind: row.kind,
      messageId: row.message_id,
      subject: row.subject,
      fromAddress: row.from_address,
      fromName: row.from_name,
      replyTo: row.reply_to,
      to: parseList(row.to_addresses),
      cc: parseList(row.cc_addresses),
      recipientAddress: row.recipient_address,
      receivedAt: row.received_at,
      dateHeader: row.date_header,
      text: row.text_body,
      html: row.html_sanitized,
      rawSize: row.raw_size,
      rawTruncated: row.raw_truncated === 1,
      attachments: attachments
        .filter((a) => a.mail_id === row.id)
        .map((a) => ({ id: a.id, filename: a.filename, contentType: a.content_type, size: a.size, rejected: a.rejected_reason })),
      customerId: row.customer_id,
      customerName: row.customer_name,
      incidentId: row.incident_id,
      incidentRef: row.ref_no === null ? null : formatIncidentRef(row.ref_no),
      incidentTitle: row.incident_title,
      contactId: row.contact_id,
      threadMatch: row.thread_match,
      queueState: row.queue_state,
      leaseUserId: row.lease_user_id,
      leaseExpiresAt: row.lease_expires_at,
      handledBy: row.handled_by,
      closeNote: row.close_note,
      matchState: row.match_state,
      matchProblem: row.match_problem,
      claimedIncident:
        claim && claimVisible
          ? {
              incidentId: claim.id,
              incidentRef: claim.ref_no === null ? null : formatIncidentRef(claim.ref_no),
              incidentTitle: claim.title,
              customerId: claim.customer_id,
              customerName: claim.customer_name,
            }
          : null,
      claimedIncidentHidden: claim !== undefined && !claimVisible,
      senderKnown:
        row.kind === 'fax'
          ? faxSenders.some((p) => p.customer_id === row.customer_id && p.e164 === row.fax_sender)
          : emails.some((email) => email.toLowerCase() === fromLower),
      senderCustomers: senderCustomers
        .filter((c) => row.kind === 'email' && c.address === fromLower && c.id !== row.customer_id && visible(c))
        .map((c) => ({ id: c.id, name: c.name })),
      customerEmails: emails,
      htmlLostText: row.html_lost_text === 1,
      faxSender: row.fax_sender,
    });
  }
  return result;
}

export async function loadMailView(db: Kysely<MailDatabase>, tenantId: string, id: string, viewer: User): Promise<MailView> {
  const view = (await loadMailViews(db, tenantId, [id], viewer)).get(id);
  if (!view) throw new HttpError('not_found', `no mail ${id}`);
  return view;
}

/**
 * Throws not_found, not forbidden, for a customer the user may not see: whether a customer
 * exists is itself confidential.
 */
export async function assertMaySeeCustomer(db: Kysely<MailDatabase>, user: User, tenantId: string, customerId: string, what: string): Promise<void> {
  const customer = await db
    .selectFrom('customers')
    .select(['classification', 'branch'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', customerId)
    .executeTakeFirst();
  if (!customer || !maySeeCustomer(user, { classification: customer.classification as Classification, branch: customer.branch })) {
    throw new HttpError('not_found', what);
  }
}

type ReplyRow = Selectable<MailRepliesTable> & {
  author_name: string;
  reviewer_name: string | null;
  ref_no: number | null;
  to_address_known: number | string | boolean | null;
};

export function toReplyView(row: ReplyRow): ReplyView {
  return {
    id: row.id,
    mailId: row.mail_id,
    callKey: row.call_key,
    incidentId: row.incident_id,
    incidentRef: row.ref_no === null ? null : formatIncidentRef(row.ref_no),
    customerId: row.customer_id,
    authorId: row.author_id,
    authorName: row.author_name,
    state: row.state,
    subject: row.subject,
    body: row.body,
    submittedBody: row.edited_by_reviewer === 1 ? row.submitted_body : null,
    editedByReviewer: row.edited_by_reviewer === 1,
    toAddress: row.to_address,
    toAddressKnown: Number(row.to_address_known) === 1 || row.to_address_known === true,
    fromAddress: row.from_address,
    messageId: row.message_id,
    reviewComment: row.review_comment,
    reviewerId: row.reviewer_id,
    reviewerName: row.reviewer_name,
    reviewedAt: row.reviewed_at,
    submittedAt: row.submitted_at,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    failure: row.failure,
    sentAt: row.sent_at,
    contactId: row.contact_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Replies with their author's and reviewer's names and the incident reference. */
export function replyQuery(db: Kysely<MailDatabase>, tenantId: string) {
  return db
    .selectFrom('mail_replies as r')
    .innerJoin('users as a', 'a.id', 'r.author_id')
    .leftJoin('users as v', 'v.id', 'r.reviewer_id')
    .innerJoin('incidents as i', 'i.id', 'r.incident_id')
    .selectAll('r')
    .select(['a.display_name as author_name', 'v.display_name as reviewer_name', 'i.ref_no'])
    // Against the customer's addresses as they are now, so an address removed since is warned about.
    .select(
      sql<number>`case when exists (select 1 from customer_emails e where e.customer_id = r.customer_id and lower(e.email) = lower(r.to_address)) then 1 else 0 end`.as(
        'to_address_known',
      ),
    )
    .where('r.tenant_id', '=', tenantId);
}

export async function loadReplyView(db: Kysely<MailDatabase>, tenantId: string, id: string): Promise<ReplyView> {
  const row = await replyQuery(db, tenantId).where('r.id', '=', id).executeTakeFirst();
  if (!row) throw new HttpError('not_found', `no reply ${id}`);
  return toReplyView(row);
}
