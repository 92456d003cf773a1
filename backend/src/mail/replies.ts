import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction, Updateable } from 'kysely';
import {
  TEMPLATE_PLACEHOLDERS,
  type MailTemplate,
  type MailTemplateInput,
  type ReplyApproveRequest,
  type ReplyDraftRequest,
  type ReplyState,
  type ReplyView,
  type ReviewQueueItem,
} from '../../../shared/api.js';
import type { Contact, User } from '../../../shared/domain.js';
import { recordAudit, type AuditEvent } from '../audit.js';
import type { AuthContext } from '../auth/sessions.js';
import { loadContacts, loadIncidents } from '../customers/records.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import { isUniqueViolation } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import { HttpError } from '../http/errors.js';
import { addSeconds, databaseNow } from './clock.js';
import type { MailConfig } from './config.js';
import { writeTransaction } from '../sync/changelog.js';
import { callOrigin, loadReviewCalls } from './call-replies.js';
import { assertNotOfferedToAnother, dispatchSettings, leaseHeld } from './dispatch.js';
import type { MailNotifier } from './notify.js';
import { mailDb, mailTrx, type MailDatabase } from './schema.js';
import { ensureIncidentRef, formatIncidentRef, newMessageId, withRefToken, replySubject } from './threading.js';
import { assertMaySeeCustomer, loadMailViews, loadReplyView, replyQuery, toReplyView } from './views.js';

/**
 * Reply templates, drafts and the review state machine:
 *
 *   draft → pending_review → approved → sending → sent
 *                 ↓                        ↓ (4xx: back to approved, later; 5xx/interrupted)
 *              returned → draft          failed → approved (a supervisor re-queues it)
 *
 * Only supervisors and admins approve or return, never a reply they wrote themselves. Every
 * transition is one conditional UPDATE on the state it leaves (so two reviewers cannot both
 * act on one reply) plus its audit event, in one transaction.
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;
const REFERENCES_KEPT = 20;

export interface TemplateValues {
  customerName: string;
  incidentRef: string;
  operatorName: string;
}

export function renderTemplate(text: string, values: TemplateValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    (TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name) ? values[name as keyof TemplateValues] : whole,
  );
}

function assertKnownPlaceholders(text: string, field: string): void {
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new HttpError('invalid_input', `${field}: unknown placeholder {{${name}}}; use ${TEMPLATE_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`);
    }
  }
}

function mayReview(user: User): boolean {
  return user.role === 'supervisor' || user.role === 'admin';
}

function assertReviewer(user: User): void {
  if (!mayReview(user)) throw new HttpError('forbidden', 'only supervisors and admins review replies');
}

// ── Templates ────────────────────────────────────────────────────────────────────────────

function toTemplate(row: { id: string; name: string; subject: string; body: string; updated_at: string }): MailTemplate {
  return { id: row.id, name: row.name, subject: row.subject, body: row.body, updatedAt: row.updated_at };
}

export async function listTemplates(db: Kysely<MailDatabase>, tenantId: string): Promise<MailTemplate[]> {
  const rows = await db.selectFrom('mail_templates').selectAll().where('tenant_id', '=', tenantId).orderBy('name').execute();
  return rows.map(toTemplate);
}

export async function saveTemplate(
  handle: DatabaseHandle,
  auth: AuthContext,
  input: MailTemplateInput,
  id: string | null,
): Promise<MailTemplate> {
  assertReviewer(auth.user);
  assertKnownPlaceholders(input.subject, 'body.subject');
  assertKnownPlaceholders(input.body, 'body.body');
  const db = mailDb(handle.db);
  const now = new Date().toISOString();
  try {
    if (id === null) {
      const row = await db
        .insertInto('mail_templates')
        .values({ id: randomUUID(), tenant_id: auth.tenant.id, name: input.name, subject: input.subject, body: input.body, created_at: now, updated_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toTemplate(row);
    }
    const row = await db
      .updateTable('mail_templates')
      .set({ name: input.name, subject: input.subject, body: input.body, updated_at: now })
      .where('tenant_id', '=', auth.tenant.id)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new HttpError('not_found', `no template ${id}`);
    return toTemplate(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new HttpError('conflict', `body.name: a template named "${input.name}" exists`);
    throw error;
  }
}

export async function deleteTemplate(handle: DatabaseHandle, auth: AuthContext, id: string): Promise<void> {
  assertReviewer(auth.user);
  const deleted = await handle.db.transaction().execute(async (raw) => {
    const trx = mailTrx(raw);
    // Replies keep their text; they only forget which template they started from.
    await trx.updateTable('mail_replies').set({ template_id: null }).where('tenant_id', '=', auth.tenant.id).where('template_id', '=', id).execute();
    const result = await trx.deleteFrom('mail_templates').where('tenant_id', '=', auth.tenant.id).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  });
  if (!deleted) throw new HttpError('not_found', `no template ${id}`);
}

// ── Drafts ───────────────────────────────────────────────────────────────────────────────

async function extendLease(trx: Transaction<MailDatabase>, config: MailConfig, auth: AuthContext, mailId: string, now: string): Promise<void> {
  const settings = await dispatchSettings(trx, auth.tenant.id, config);
  const cutoff = addSeconds(now, -config.dispatch.presenceTimeoutSeconds);
  // Working on a draft is the opposite of ignoring the mail: the lease runs on from now.
  await trx
    .updateTable('mail_messages')
    .set({ lease_expires_at: addSeconds(now, settings.leaseSeconds), lease_seen_at: now })
    .where('tenant_id', '=', auth.tenant.id)
    .where('id', '=', mailId)
    .where('lease_user_id', '=', auth.user.id)
    .where('queue_state', '=', 'waiting')
    .where((eb) => leaseHeld(now, cutoff)(eb))
    .execute();
}

/**
 * Where a reply goes unless its author says otherwise: one of the customer's known addresses
 * (the sender's, when it is one), never the mail's Reply-To or an unknown sender on its own.
 */
async function defaultRecipient(trx: Transaction<MailDatabase>, tenantId: string, customerId: string, fromAddress: string): Promise<string> {
  const emails = await trx
    .selectFrom('customer_emails')
    .select('email')
    .where('tenant_id', '=', tenantId)
    .where('customer_id', '=', customerId)
    .orderBy('position')
    .execute();
  const from = fromAddress.toLowerCase();
  const sender = emails.find((e) => e.email.toLowerCase() === from);
  return (sender ?? emails[0])?.email ?? fromAddress;
}

/** The columns every new reply starts with: a draft, never reviewed, never sent. */
function newReplyColumns(id: string, tenantId: string, authorId: string, now: string) {
  return {
    id,
    tenant_id: tenantId,
    author_id: authorId,
    state: 'draft' as const,
    submitted_body: null,
    message_id: null,
    review_comment: null,
    reviewer_id: null,
    reviewed_at: null,
    edited_by_reviewer: 0,
    submitted_at: null,
    claim_id: null,
    claimed_at: null,
    transmit_started_at: null,
    attempts: 0,
    next_attempt_at: null,
    last_error: null,
    failure: null,
    sent_at: null,
    contact_id: null,
    created_at: now,
    updated_at: now,
  };
}

async function templateFor(trx: Transaction<MailDatabase>, tenantId: string, templateId: string) {
  const template = await trx.selectFrom('mail_templates').selectAll().where('tenant_id', '=', tenantId).where('id', '=', templateId).executeTakeFirst();
  if (!template) throw new HttpError('invalid_input', `body.templateId: no template ${templateId}`);
  return template;
}

/**
 * PUT /api/mail/replies/:id: creates the draft under the client's id or updates it. Applying
 * the same request twice leaves the same draft, so the app's outbox may retry it freely.
 */
export async function saveDraft(
  handle: DatabaseHandle,
  notifier: MailNotifier,
  config: MailConfig,
  auth: AuthContext,
  replyId: string,
  request: ReplyDraftRequest,
): Promise<ReplyView> {
  const db = mailDb(handle.db);
  const tenantId = auth.tenant.id;
  const attempt = () =>
    writeTransaction(handle, async (tx) => {
      const raw = tx.trx;
      const trx = mailTrx(raw);
      const now = await databaseNow(trx, handle.dialect);
      const existing = await trx.selectFrom('mail_replies').selectAll().where('id', '=', replyId).executeTakeFirst();
      if (existing && existing.tenant_id !== tenantId) throw new HttpError('conflict', `reply id ${replyId} is taken; generate another`);
      if (existing && request.mailId !== undefined && request.mailId !== existing.mail_id) {
        throw new HttpError('invalid_input', 'body.mailId: a reply stays with the mail it answers');
      }
      if (request.mailId !== undefined && request.callKey !== undefined) {
        throw new HttpError('invalid_input', 'body.callKey: a reply answers a mail or a call, not both');
      }
      if (existing && request.callKey !== undefined && request.callKey !== existing.call_key) {
        throw new HttpError('invalid_input', 'body.callKey: a mail stays with the call it answers');
      }
      const template = request.templateId ? await templateFor(trx, tenantId, request.templateId) : null;
      const toInput = request.toAddress?.trim().toLowerCase();
      const callKey = existing ? existing.call_key : (request.callKey ?? null);

      if (callKey !== null) {
        const origin = existing ? null : await callOrigin(tx, auth, callKey, config.timeZone);
        if (origin) {
          if (toInput && !origin.knownAddresses.includes(toInput)) {
            throw new HttpError('invalid_input', "body.toAddress: a mail to a caller goes to one of the customer's addresses");
          }
          const ref = await ensureIncidentRef(trx, tenantId, origin.incidentId);
          const values: TemplateValues = { customerName: '', incidentRef: formatIncidentRef(ref.refNo), operatorName: auth.user.displayName };
          await trx
            .insertInto('mail_replies')
            .values({
              ...newReplyColumns(replyId, tenantId, auth.user.id, now),
              mail_id: null,
              call_key: callKey,
              incident_id: origin.incidentId,
              customer_id: origin.customerId,
              subject: withRefToken(request.subject ?? (template && template.subject.trim() !== '' ? renderTemplate(template.subject, values) : origin.subject), ref),
              body: request.body ?? (template ? renderTemplate(template.body, values) : origin.body),
              template_id: template?.id ?? null,
              to_address: toInput ?? origin.toAddress,
              from_address: origin.fromAddress,
              in_reply_to: null,
              references_ids: '[]',
            })
            .execute();
          await recordAudit(raw, {
            tenantId,
            userId: auth.user.id,
            action: 'reply_drafted',
            customerId: origin.customerId,
            details: { replyId, callKey, incidentId: origin.incidentId, templateId: template?.id ?? null, toAddress: toInput ?? origin.toAddress },
          });
          return;
        }
      }
      const mailId = existing?.mail_id ?? request.mailId ?? null;
      if (!existing && !mailId) throw new HttpError('invalid_input', 'body.mailId: required to create a reply (or body.callKey for a mail to a caller)');
      const mail = mailId
        ? await trx
            .selectFrom('mail_messages as m')
            .innerJoin('customers as c', 'c.id', 'm.customer_id')
            .select(['m.id', 'm.kind', 'm.subject', 'm.message_id', 'm.references_ids', 'm.reply_to', 'm.from_address', 'm.recipient_address', 'm.incident_id', 'm.customer_id', 'c.name as customer_name'])
            .where('m.tenant_id', '=', tenantId)
            .where('m.id', '=', mailId)
            .executeTakeFirst()
        : undefined;
      if (mailId && !mail) throw new HttpError(existing ? 'not_found' : 'invalid_input', `body.mailId: no mail ${mailId}`);
      // Important: a fax's From is the fax gateway; a reply there would reach no customer.
      if (!existing && mail?.kind === 'fax') {
        throw new HttpError('invalid_input', `body.mailId: mail ${mail.id} is a fax; answer it by phone or fax, not by e-mail`);
      }
      const customerId = mail?.customer_id ?? existing?.customer_id ?? '';
      await assertMaySeeCustomer(trx, auth.user, tenantId, customerId, mailId ? `body.mailId: no mail ${mailId}` : `no reply ${replyId}`);
      if (!existing && mail) await assertNotOfferedToAnother(trx, auth, mail.id, now, config);
      const incidentId = mail?.incident_id ?? existing?.incident_id ?? '';
      const ref = await ensureIncidentRef(trx, tenantId, incidentId);
      const customerName = mail?.customer_name ?? (await trx.selectFrom('customers').select('name').where('id', '=', customerId).executeTakeFirstOrThrow()).name;
      const values: TemplateValues = { customerName, incidentRef: formatIncidentRef(ref.refNo), operatorName: auth.user.displayName };
      const templateSubject = template && template.subject.trim() !== '' ? renderTemplate(template.subject, values) : null;
      const subjectInput = request.subject ?? templateSubject;
      const bodyInput = request.body ?? (template ? renderTemplate(template.body, values) : undefined);

      if (!existing && mail) {
        await trx
          .insertInto('mail_replies')
          .values({
            ...newReplyColumns(replyId, tenantId, auth.user.id, now),
            mail_id: mail.id,
            call_key: null,
            incident_id: mail.incident_id,
            customer_id: mail.customer_id,
            subject: subjectInput ? withRefToken(subjectInput, ref) : replySubject(mail.subject, ref),
            body: bodyInput ?? '',
            template_id: template?.id ?? null,
            to_address: toInput ?? (await defaultRecipient(trx, tenantId, mail.customer_id, mail.from_address)),
            from_address: mail.recipient_address,
            in_reply_to: mail.message_id,
            references_ids: JSON.stringify(
              [...(JSON.parse(mail.references_ids) as string[]).filter((id) => id !== mail.message_id), mail.message_id].slice(-REFERENCES_KEPT),
            ),
          })
          .execute();
        await recordAudit(raw, {
          tenantId,
          userId: auth.user.id,
          action: 'reply_drafted',
          customerId: mail.customer_id,
          details: { replyId, mailId: mail.id, templateId: template?.id ?? null, ...(toInput ? { toAddress: toInput } : {}) },
        });
        await extendLease(trx, config, auth, mail.id, now);
        return;
      }
      if (!existing) return;
      if (existing.call_key !== null && toInput) {
        const known = await trx.selectFrom('customer_emails').select('email').where('tenant_id', '=', tenantId).where('customer_id', '=', existing.customer_id).execute();
        if (!known.some((e) => e.email.toLowerCase() === toInput)) {
          throw new HttpError('invalid_input', "body.toAddress: a mail to a caller goes to one of the customer's addresses");
        }
      }

      if (existing.author_id !== auth.user.id) throw new HttpError('forbidden', 'only the author edits a draft');
      if (existing.state !== 'draft' && existing.state !== 'returned') {
        throw new HttpError('conflict', `the reply is ${existing.state}; only a draft or a returned reply can be edited`);
      }
      const updated = await trx
        .updateTable('mail_replies')
        .set({
          state: 'draft',
          subject: subjectInput ? withRefToken(subjectInput, ref) : existing.subject,
          body: bodyInput ?? existing.body,
          template_id: request.templateId === undefined ? existing.template_id : (template?.id ?? null),
          to_address: toInput ?? existing.to_address,
          updated_at: now,
        })
        .where('id', '=', replyId)
        .where('state', '=', existing.state)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) throw new HttpError('conflict', 'the reply changed meanwhile; reload it');
      await recordAudit(raw, {
        tenantId,
        userId: auth.user.id,
        action: existing.state === 'returned' ? 'reply_reopened' : 'reply_edited',
        customerId: existing.customer_id,
        details: { replyId, ...(toInput && toInput !== existing.to_address ? { toAddress: toInput } : {}) },
      });
      if (existing.mail_id !== null) await extendLease(trx, config, auth, existing.mail_id, now);
    });
  try {
    await attempt();
  } catch (error) {
    // The same new draft sent twice at once (an outbox retry racing its original): the loser
    // finds the winner's row and applies itself as an update.
    if (!isUniqueViolation(error)) throw error;
    await attempt();
  }
  await notifier.publish(tenantId);
  return loadReplyView(db, tenantId, replyId);
}

async function replyRow(db: Kysely<MailDatabase>, tenantId: string, replyId: string) {
  const row = await db.selectFrom('mail_replies').selectAll().where('tenant_id', '=', tenantId).where('id', '=', replyId).executeTakeFirst();
  if (!row) throw new HttpError('not_found', `no reply ${replyId}`);
  return row;
}

/**
 * A reply of a customer the user may see (in whatever state). Important: authorship grants
 * nothing by itself: an author who lost the right to see the customer loses their replies to
 * it with it (here, in their list, and for edit, submit and discard).
 */
async function visibleReplyRow(db: Kysely<MailDatabase>, auth: AuthContext, replyId: string) {
  const row = await replyRow(db, auth.tenant.id, replyId);
  await assertMaySeeCustomer(db, auth.user, auth.tenant.id, row.customer_id, `no reply ${replyId}`);
  return row;
}

export async function getReply(handle: DatabaseHandle, auth: AuthContext, replyId: string): Promise<ReplyView> {
  const db = mailDb(handle.db);
  await visibleReplyRow(db, auth, replyId);
  return loadReplyView(db, auth.tenant.id, replyId);
}

export async function discardDraft(handle: DatabaseHandle, notifier: MailNotifier, auth: AuthContext, replyId: string): Promise<void> {
  const db = mailDb(handle.db);
  const row = await visibleReplyRow(db, auth, replyId);
  if (row.author_id !== auth.user.id) throw new HttpError('forbidden', 'only the author discards a draft');
  await handle.db.transaction().execute(async (raw) => {
    const trx = mailTrx(raw);
    const deleted = await trx
      .deleteFrom('mail_replies')
      .where('id', '=', replyId)
      .where('state', 'in', ['draft', 'returned'])
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) throw new HttpError('conflict', `the reply is ${row.state}; only a draft or a returned reply can be discarded`);
    // A mail whose only reply is gone is unanswered again: back to the queue.
    const others = row.mail_id === null ? undefined : await trx.selectFrom('mail_replies').select('id').where('mail_id', '=', row.mail_id).executeTakeFirst();
    if (row.mail_id !== null && !others) {
      await trx
        .updateTable('mail_messages')
        .set({ queue_state: 'waiting', handled_by: null, handled_at: null })
        .where('id', '=', row.mail_id)
        .where('queue_state', '=', 'answered')
        .execute();
    }
    await recordAudit(raw, {
      tenantId: auth.tenant.id,
      userId: auth.user.id,
      action: 'reply_discarded',
      customerId: row.customer_id,
      details: { replyId, ...(row.mail_id !== null ? { mailId: row.mail_id } : { callKey: row.call_key }), state: row.state },
    });
  });
  await notifier.publish(auth.tenant.id);
}

// ── Review ───────────────────────────────────────────────────────────────────────────────

export async function submitReply(handle: DatabaseHandle, notifier: MailNotifier, auth: AuthContext, replyId: string): Promise<ReplyView> {
  const db = mailDb(handle.db);
  const row = await visibleReplyRow(db, auth, replyId);
  if (row.author_id !== auth.user.id) throw new HttpError('forbidden', 'only the author submits a reply');
  if (row.state !== 'draft') throw new HttpError('conflict', `the reply is ${row.state}; only a draft can be submitted`);
  if (row.body.trim() === '') throw new HttpError('invalid_input', 'body: the reply is empty');
  await handle.db.transaction().execute(async (raw) => {
    const trx = mailTrx(raw);
    const now = await databaseNow(trx, handle.dialect);
    const updated = await trx
      .updateTable('mail_replies')
      .set({ state: 'pending_review', submitted_body: row.body, submitted_at: now, edited_by_reviewer: 0, updated_at: now })
      .where('id', '=', replyId)
      .where('state', '=', 'draft')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw new HttpError('conflict', 'the reply changed meanwhile; reload it');
    // Answered: the mail leaves the queue, whoever held its lease.
    if (row.mail_id !== null) {
      await trx
        .updateTable('mail_messages')
        .set({ queue_state: 'answered', handled_by: auth.user.id, handled_at: now, lease_user_id: null, lease_expires_at: null, lease_seen_at: null, leased_at: null })
        .where('id', '=', row.mail_id)
        .where('queue_state', '=', 'waiting')
        .execute();
    }
    await recordAudit(raw, {
      tenantId: auth.tenant.id,
      userId: auth.user.id,
      action: 'reply_submitted',
      customerId: row.customer_id,
      details: { replyId, ...(row.mail_id !== null ? { mailId: row.mail_id } : { callKey: row.call_key }) },
    });
  });
  await notifier.publish(auth.tenant.id);
  return loadReplyView(db, auth.tenant.id, replyId);
}

async function reviewable(handle: DatabaseHandle, auth: AuthContext, replyId: string, verb: string) {
  assertReviewer(auth.user);
  const db = mailDb(handle.db);
  const row = await replyRow(db, auth.tenant.id, replyId);
  await assertMaySeeCustomer(db, auth.user, auth.tenant.id, row.customer_id, `no reply ${replyId}`);
  if (row.author_id === auth.user.id) throw new HttpError('forbidden', `you cannot ${verb} a reply you wrote; another supervisor reviews it`);
  if (row.state !== 'pending_review') throw new HttpError('conflict', `the reply is ${row.state}; only a reply pending review can be reviewed`);
  return row;
}

export async function approveReply(
  handle: DatabaseHandle,
  notifier: MailNotifier,
  auth: AuthContext,
  replyId: string,
  request: ReplyApproveRequest,
): Promise<ReplyView> {
  const row = await reviewable(handle, auth, replyId, 'approve');
  const body = request.body ?? row.body;
  const edited = body !== row.body;
  // Ours, fixed before any attempt to send: every attempt (and a re-queue) carries the same
  // Message-ID, so the customer's mail client can recognise a copy.
  const messageId = newMessageId(row.from_address);
  return transitionReply(handle, notifier, auth, {
    replyId,
    from: 'pending_review',
    conflict: 'another reviewer acted on the reply meanwhile; reload it',
    changes: (now) => ({
      state: 'approved',
      body,
      edited_by_reviewer: edited ? 1 : 0,
      reviewer_id: auth.user.id,
      reviewed_at: now,
      message_id: messageId,
      attempts: 0,
      next_attempt_at: now,
      updated_at: now,
    }),
    audit: {
      action: 'reply_approved',
      customerId: row.customer_id,
      details: {
        replyId,
        authorId: row.author_id,
        messageId,
        edited,
        ...(edited ? { submittedBody: row.body, approvedBody: body } : {}),
      },
    },
  });
}

export async function returnReply(
  handle: DatabaseHandle,
  notifier: MailNotifier,
  auth: AuthContext,
  replyId: string,
  comment: string,
): Promise<ReplyView> {
  const row = await reviewable(handle, auth, replyId, 'return');
  return transitionReply(handle, notifier, auth, {
    replyId,
    from: 'pending_review',
    conflict: 'another reviewer acted on the reply meanwhile; reload it',
    changes: (now) => ({ state: 'returned', review_comment: comment, reviewer_id: auth.user.id, reviewed_at: now, updated_at: now }),
    audit: { action: 'reply_returned', customerId: row.customer_id, details: { replyId, authorId: row.author_id, comment } },
  });
}

/** A supervisor sends a failed reply again, with the Message-ID it already has. */
export async function requeueReply(handle: DatabaseHandle, notifier: MailNotifier, auth: AuthContext, replyId: string): Promise<ReplyView> {
  assertReviewer(auth.user);
  const db = mailDb(handle.db);
  const row = await replyRow(db, auth.tenant.id, replyId);
  await assertMaySeeCustomer(db, auth.user, auth.tenant.id, row.customer_id, `no reply ${replyId}`);
  if (row.state !== 'failed') throw new HttpError('conflict', `the reply is ${row.state}; only a failed reply can be sent again`);
  return transitionReply(handle, notifier, auth, {
    replyId,
    from: 'failed',
    conflict: 'the reply changed meanwhile; reload it',
    changes: (now) => ({
      state: 'approved',
      failure: null,
      attempts: 0,
      next_attempt_at: now,
      claim_id: null,
      claimed_at: null,
      transmit_started_at: null,
      updated_at: now,
    }),
    audit: {
      action: 'reply_requeued',
      customerId: row.customer_id,
      details: { replyId, previousFailure: row.failure, lastError: row.last_error },
    },
  });
}

interface ReplyTransition {
  replyId: string;
  /** The state the reply must still be in; a concurrent reviewer who acted first wins. */
  from: ReplyState;
  conflict: string;
  changes: (now: string) => Updateable<MailDatabase['mail_replies']>;
  audit: Pick<AuditEvent, 'action' | 'customerId' | 'details'>;
}

/**
 * A reviewer's state change: a conditional update from `from`, its audit event in the same
 * transaction, then the live views are poked.
 */
async function transitionReply(handle: DatabaseHandle, notifier: MailNotifier, auth: AuthContext, transition: ReplyTransition): Promise<ReplyView> {
  await handle.db.transaction().execute(async (raw) => {
    const trx = mailTrx(raw);
    const now = await databaseNow(trx, handle.dialect);
    const updated = await trx
      .updateTable('mail_replies')
      .set(transition.changes(now))
      .where('id', '=', transition.replyId)
      .where('state', '=', transition.from)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw new HttpError('conflict', transition.conflict);
    await recordAudit(raw, { tenantId: auth.tenant.id, userId: auth.user.id, ...transition.audit });
  });
  await notifier.publish(auth.tenant.id);
  return loadReplyView(mailDb(handle.db), auth.tenant.id, transition.replyId);
}

export async function myReplies(handle: DatabaseHandle, auth: AuthContext, state: ReplyState | undefined): Promise<ReplyView[]> {
  let query = replyQuery(mailDb(handle.db), auth.tenant.id)
    .innerJoin('customers as c', 'c.id', 'r.customer_id')
    .where('r.author_id', '=', auth.user.id)
    .where(visibleCustomerSql(auth.user, 'c'));
  if (state) query = query.where('r.state', '=', state);
  const rows = await query.orderBy('r.updated_at', 'desc').orderBy('r.id').limit(200).execute();
  return rows.map(toReplyView);
}

/** Failed replies of customers this supervisor may see, newest first. */
export async function failedReplies(handle: DatabaseHandle, auth: AuthContext): Promise<ReplyView[]> {
  assertReviewer(auth.user);
  const rows = await replyQuery(mailDb(handle.db), auth.tenant.id)
    .innerJoin('customers as c', 'c.id', 'r.customer_id')
    .where('r.state', '=', 'failed')
    .where(visibleCustomerSql(auth.user, 'c'))
    .orderBy('r.updated_at', 'desc')
    .orderBy('r.id')
    .limit(200)
    .execute();
  return rows.map(toReplyView);
}

const REVIEW_QUEUE_LIMIT = 100;

/** Replies pending review, oldest submission first, each beside the mail and the incident's history. */
export async function reviewQueue(handle: DatabaseHandle, auth: AuthContext): Promise<ReviewQueueItem[]> {
  assertReviewer(auth.user);
  const db = mailDb(handle.db);
  const tenantId = auth.tenant.id;
  const rows = await replyQuery(db, tenantId)
    .innerJoin('customers as c', 'c.id', 'r.customer_id')
    .where('r.state', '=', 'pending_review')
    .where(visibleCustomerSql(auth.user, 'c'))
    .orderBy('r.submitted_at')
    .orderBy('r.id')
    .limit(REVIEW_QUEUE_LIMIT)
    .execute();
  if (rows.length === 0) return [];
  const mails = await loadMailViews(db, tenantId, rows.flatMap((row) => (row.mail_id !== null ? [row.mail_id] : [])), auth.user);
  const calls = await loadReviewCalls(handle, tenantId, rows.flatMap((row) => (row.call_key !== null ? [row.call_key] : [])));
  const incidents = await loadIncidents(handle.db, tenantId, rows.map((row) => row.incident_id));
  const contactRows = await db
    .selectFrom('contacts')
    .select(['id', 'incident_id'])
    .where('tenant_id', '=', tenantId)
    .where('incident_id', 'in', [...new Set(rows.map((row) => row.incident_id))])
    .orderBy('occurred_at')
    .orderBy('id')
    .execute();
  const contacts = await loadContacts(handle.db, tenantId, contactRows.map((row) => row.id));
  const items: ReviewQueueItem[] = [];
  for (const row of rows) {
    const mail = row.mail_id !== null ? (mails.get(row.mail_id) ?? null) : null;
    const call = row.call_key !== null ? (calls.get(row.call_key) ?? null) : null;
    const incident = incidents.get(row.incident_id);
    if ((!mail && !call) || !incident) continue;
    const history = contactRows
      .filter((contact) => contact.incident_id === row.incident_id)
      .map((contact) => contacts.get(contact.id))
      .filter((contact): contact is Contact => contact !== undefined);
    items.push({ reply: toReplyView(row), mail, call, incident, contacts: history });
  }
  return items;
}
