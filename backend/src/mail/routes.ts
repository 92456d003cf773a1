import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  AgentStatusRequest,
  MAIL_API,
  MailAddressInput,
  MailCloseRequest,
  MailMatchRequest,
  MailSettingsUpdate,
  MailTemplateInput,
  MyRepliesQuery,
  ReplyApproveRequest,
  ReplyDraftRequest,
  ReplyReturnRequest,
  type AgentPresence,
  type AgentStatusResponse,
  type FaxPagesView,
  type MailAddress,
  type MailAddressesResponse,
  type MailsNeedingMatchResponse,
  type MailOfferResponse,
  type MailSettings,
  type MailTemplate,
  type MailTemplatesResponse,
  type MailView,
  type RepliesResponse,
  type ReplyView,
  type ReviewQueueResponse,
  type SupervisorSummary,
} from '../../../shared/api.js';
import { Id, type AuditAction, type User } from '../../../shared/domain.js';
import { safeAttachmentName } from '../../../shared/mail-content.js';
import { recordAudit } from '../audit.js';
import type { BackendContext } from '../context.js';
import { isUniqueViolation } from '../customers/writes.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { eventStreams } from '../http/server-sent-events.js';
import { databaseNow } from './clock.js';
import { loadMailConfig, type MailConfig } from './config.js';
import { closeMail, dispatchSettings, heartbeat, offerMail, queueCounts, releaseMail, setAgentStatus } from './dispatch.js';
import { matchMail, mailsNeedingMatch, needsMatchingCount } from './matching.js';
import { renderFaxPages } from './fax-pages.js';
import { createMailNotifier, type MailNotifier } from './notify.js';
import {
  approveReply,
  deleteTemplate,
  discardDraft,
  failedReplies,
  getReply,
  listTemplates,
  myReplies,
  requeueReply,
  returnReply,
  reviewQueue,
  saveDraft,
  saveTemplate,
  submitReply,
} from './replies.js';
import { mailDb } from './schema.js';
import { supervisorSummary } from './summary.js';
import { assertMaySeeCustomer, loadMailView } from './views.js';

const IdParams = z.object({ id: Id });
const ContactParams = z.object({ contactId: Id });
const AddressParams = z.object({ address: z.string().min(3).max(320) });

/** Time-based changes (a heartbeat that stops, a lease that runs out) announce nothing: refresh. */
const SUMMARY_REFRESH_MS = 15_000;
/** A burst of changes (a mail arriving touches several things) becomes one push. */
const PUSH_DEBOUNCE_MS = 100;

function isSupervisor(user: User): boolean {
  return user.role === 'supervisor' || user.role === 'admin';
}

function assertSupervisor(user: User): void {
  if (!isSupervisor(user)) throw new HttpError('forbidden', 'for supervisors and admins only');
}

function assertAdmin(user: User): void {
  if (user.role !== 'admin') throw new HttpError('forbidden', 'for admins only');
}

/**
 * RFC 6266: `filename*` (RFC 5987, UTF-8, percent-encoded beyond attr-char) keeps any name, and
 * the plain `filename` is an ASCII stand-in for old clients. The name is neutralised again here
 * (path parts, controls, bidi overrides), so a row stored before that rule still downloads safely.
 */
export function contentDisposition(sentName: string): string {
  const filename = safeAttachmentName(sentName);
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Untrusted bytes go out as a download that no browser renders or sniffs: the app hands them
 * to the user's file system on request and never opens them itself.
 */
function sendDownload(reply: FastifyReply, filename: string, content: Buffer): FastifyReply {
  return reply
    .header('content-type', 'application/octet-stream')
    .header('content-disposition', contentDisposition(filename))
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('cache-control', 'private, no-store')
    .send(content);
}

export interface MailRoutesOptions {
  /** Defaults to the environment (TSUNAGU_SMTP_*, TSUNAGU_MAIL_*). */
  config?: MailConfig;
}

/**
 * The e-mail channel's routes (see MAIL_API in shared/api.ts), to be registered inside the
 * authenticated scope. The SMTP listener and the sender are not started here but by
 * `startMailServices` (service.ts): every app instance serves the routes, while a deployment
 * decides which processes receive and send mail.
 */
export function registerMailRoutes(app: FastifyInstance, ctx: BackendContext, options: MailRoutesOptions = {}): MailNotifier {
  const config = options.config ?? loadMailConfig();
  const { handle } = ctx;
  const db = mailDb(handle.db);
  const notifier = createMailNotifier(handle, app.log);
  app.addHook('onReady', () => notifier.start());
  app.addHook('onClose', () => notifier.close());

  // ── Presence ──
  app.put(MAIL_API.agentStatus, async (request): Promise<AgentStatusResponse> => {
    const body = parseRequest(AgentStatusRequest, request.body, 'body');
    const changedAt = body.changedAt === undefined ? null : new Date(body.changedAt).toISOString();
    return setAgentStatus(handle, notifier, config, request.auth, { status: body.status, changedAt });
  });
  app.post(MAIL_API.agentHeartbeat, async (request): Promise<AgentPresence> => heartbeat(handle, notifier, config, request.auth));

  // ── Queue ──
  app.post(MAIL_API.mailOffer, async (request): Promise<MailOfferResponse> => offerMail(handle, notifier, config, request.auth));

  const visibleMail = async (user: User, tenantId: string, mailId: string): Promise<MailView> => {
    const mail = await loadMailView(db, tenantId, mailId, user);
    await assertMaySeeCustomer(db, user, tenantId, mail.customerId, `no mail ${mailId}`);
    return mail;
  };

  /** A change of the tenant's mail set-up (templates, settings, addresses), for the audit viewer. */
  const auditSettings = (auth: { tenant: { id: string }; user: { id: string } }, action: AuditAction, details: Record<string, unknown>) =>
    recordAudit(handle.db, { tenantId: auth.tenant.id, userId: auth.user.id, action, details });

  app.get(MAIL_API.mailMessage, async (request): Promise<MailView> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    return visibleMail(request.auth.user, request.auth.tenant.id, id);
  });

  app.get(MAIL_API.mailByContact, async (request): Promise<MailView> => {
    const { contactId } = parseRequest(ContactParams, request.params, 'params');
    const row = await db
      .selectFrom('mail_messages')
      .select('id')
      .where('tenant_id', '=', request.auth.tenant.id)
      .where('contact_id', '=', contactId)
      .executeTakeFirst();
    if (!row) throw new HttpError('not_found', `no mail behind contact ${contactId}`);
    return visibleMail(request.auth.user, request.auth.tenant.id, row.id);
  });

  app.get(MAIL_API.mailRaw, async (request, reply) => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const mail = await visibleMail(request.auth.user, request.auth.tenant.id, id);
    const row = await db.selectFrom('mail_messages').select('raw').where('id', '=', mail.id).executeTakeFirstOrThrow();
    await recordAudit(handle.db, {
      tenantId: request.auth.tenant.id,
      userId: request.auth.user.id,
      action: 'mail_raw_downloaded',
      customerId: mail.customerId,
      details: { mailId: mail.id, kind: mail.kind },
    });
    return sendDownload(reply, `mail-${mail.id}.eml`, row.raw);
  });

  /** A kept attachment the user may see (its mail's customer), or not_found. */
  const visibleAttachment = async (user: User, tenantId: string, id: string) => {
    const row = await db
      .selectFrom('mail_attachments as a')
      .innerJoin('mail_messages as m', 'm.id', 'a.mail_id')
      .select(['a.id', 'a.mail_id', 'a.filename', 'a.content', 'a.rejected_reason', 'm.customer_id', 'm.kind'])
      .where('a.tenant_id', '=', tenantId)
      .where('a.id', '=', id)
      .executeTakeFirst();
    if (!row) throw new HttpError('not_found', `no attachment ${id}`);
    await assertMaySeeCustomer(db, user, tenantId, row.customer_id, `no attachment ${id}`);
    if (row.content === null) throw new HttpError('not_found', `attachment ${id} was not kept (${row.rejected_reason ?? 'refused'})`);
    return { ...row, content: row.content };
  };

  app.get(MAIL_API.mailAttachment, async (request, reply) => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const row = await visibleAttachment(request.auth.user, request.auth.tenant.id, id);
    await recordAudit(handle.db, {
      tenantId: request.auth.tenant.id,
      userId: request.auth.user.id,
      action: 'mail_attachment_downloaded',
      customerId: row.customer_id,
      details: { mailId: row.mail_id, attachmentId: row.id, filename: row.filename },
    });
    return sendDownload(reply, row.filename, row.content);
  });

  app.get(MAIL_API.faxPages, async (request): Promise<FaxPagesView> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const row = await visibleAttachment(request.auth.user, request.auth.tenant.id, id);
    const rendered = await renderFaxPages(row.content);
    await recordAudit(handle.db, {
      tenantId: request.auth.tenant.id,
      userId: request.auth.user.id,
      action: 'fax_viewed',
      customerId: row.customer_id,
      details: { mailId: row.mail_id, attachmentId: row.id, pages: rendered.pageCount },
    });
    return { attachmentId: row.id, pageCount: rendered.pageCount, pages: rendered.pages.map((png) => ({ pngBase64: png.toString('base64') })) };
  });

  app.post(MAIL_API.mailRelease, async (request, reply) => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    await releaseMail(handle, notifier, request.auth, id);
    return reply.status(204).send();
  });

  app.post(MAIL_API.mailClose, async (request): Promise<MailView> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const body = parseRequest(MailCloseRequest, request.body, 'body');
    await closeMail(handle, notifier, config, request.auth, id, body.note);
    return loadMailView(db, request.auth.tenant.id, id, request.auth.user);
  });

  // ── Needs matching ──
  app.get(MAIL_API.mailsNeedingMatch, async (request): Promise<MailsNeedingMatchResponse> => ({
    mails: await mailsNeedingMatch(handle, request.auth),
  }));
  app.post(MAIL_API.mailMatch, async (request): Promise<MailView> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const body = parseRequest(MailMatchRequest, request.body, 'body');
    return matchMail(handle, notifier, request.auth, id, body);
  });

  // ── Templates ──
  app.get(MAIL_API.mailTemplates, async (request): Promise<MailTemplatesResponse> => ({
    templates: await listTemplates(db, request.auth.tenant.id),
  }));
  app.post(MAIL_API.mailTemplates, async (request): Promise<MailTemplate> => {
    const body = parseRequest(MailTemplateInput, request.body, 'body');
    const saved = await saveTemplate(handle, request.auth, body, null);
    await auditSettings(request.auth, 'mail_template_changed', { templateId: saved.id, name: saved.name, change: 'created' });
    return saved;
  });
  app.put(MAIL_API.mailTemplate, async (request): Promise<MailTemplate> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const body = parseRequest(MailTemplateInput, request.body, 'body');
    const saved = await saveTemplate(handle, request.auth, body, id);
    await auditSettings(request.auth, 'mail_template_changed', { templateId: saved.id, name: saved.name, change: 'updated' });
    return saved;
  });
  app.delete(MAIL_API.mailTemplate, async (request, reply) => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    await deleteTemplate(handle, request.auth, id);
    await auditSettings(request.auth, 'mail_template_changed', { templateId: id, change: 'deleted' });
    return reply.status(204).send();
  });

  // ── Replies and review ──
  app.get(MAIL_API.reply, async (request): Promise<ReplyView> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    return getReply(handle, request.auth, id);
  });
  app.put(MAIL_API.reply, async (request): Promise<ReplyView> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const body = parseRequest(ReplyDraftRequest, request.body, 'body');
    return saveDraft(handle, notifier, config, request.auth, id, body);
  });
  app.delete(MAIL_API.reply, async (request, reply) => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    await discardDraft(handle, notifier, request.auth, id);
    return reply.status(204).send();
  });
  app.post(MAIL_API.replySubmit, async (request): Promise<ReplyView> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    return submitReply(handle, notifier, request.auth, id);
  });
  app.post(MAIL_API.replyApprove, async (request): Promise<ReplyView> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const body = parseRequest(ReplyApproveRequest, request.body, 'body');
    return approveReply(handle, notifier, request.auth, id, body);
  });
  app.post(MAIL_API.replyReturn, async (request): Promise<ReplyView> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const body = parseRequest(ReplyReturnRequest, request.body, 'body');
    return returnReply(handle, notifier, request.auth, id, body.comment);
  });
  app.post(MAIL_API.replyRequeue, async (request): Promise<ReplyView> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    return requeueReply(handle, notifier, request.auth, id);
  });
  app.get(MAIL_API.myReplies, async (request): Promise<RepliesResponse> => {
    const query = parseRequest(MyRepliesQuery, request.query, 'query');
    return { replies: await myReplies(handle, request.auth, query.state) };
  });
  app.get(MAIL_API.reviewQueue, async (request): Promise<ReviewQueueResponse> => ({ items: await reviewQueue(handle, request.auth) }));
  app.get(MAIL_API.failedReplies, async (request): Promise<RepliesResponse> => ({ replies: await failedReplies(handle, request.auth) }));

  // ── Supervisor ──
  app.get(MAIL_API.supervisorSummary, async (request): Promise<SupervisorSummary> => {
    assertSupervisor(request.auth.user);
    return supervisorSummary(db, handle.dialect, config, request.auth.tenant.id, request.auth.user);
  });

  // ── Settings and addresses ──
  app.get(MAIL_API.mailSettings, async (request): Promise<MailSettings> => dispatchSettings(db, request.auth.tenant.id, config));
  app.put(MAIL_API.mailSettings, async (request): Promise<MailSettings> => {
    assertSupervisor(request.auth.user);
    const body = parseRequest(MailSettingsUpdate, request.body, 'body');
    const tenantId = request.auth.tenant.id;
    const current = await db.selectFrom('mail_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    const next = {
      lease_seconds: body.leaseSeconds === undefined ? (current?.lease_seconds ?? null) : body.leaseSeconds,
      busy_calls_per_agent: body.busyCallsPerAgent === undefined ? (current?.busy_calls_per_agent ?? null) : body.busyCallsPerAgent,
      updated_at: new Date().toISOString(),
    };
    await db
      .insertInto('mail_settings')
      .values({ tenant_id: tenantId, ...next })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet(next))
      .execute();
    await auditSettings(request.auth, 'mail_settings_changed', { ...body });
    await notifier.publish(tenantId);
    return dispatchSettings(db, tenantId, config);
  });

  app.get(MAIL_API.mailAddresses, async (request): Promise<MailAddressesResponse> => {
    assertSupervisor(request.auth.user);
    const rows = await db.selectFrom('mail_addresses').select(['address', 'kind']).where('tenant_id', '=', request.auth.tenant.id).orderBy('address').execute();
    return { addresses: rows };
  });
  app.post(MAIL_API.mailAddresses, async (request): Promise<MailAddress> => {
    assertAdmin(request.auth.user);
    const body = parseRequest(MailAddressInput, request.body, 'body');
    const address = body.address.toLowerCase();
    try {
      await db
        .insertInto('mail_addresses')
        .values({ address, tenant_id: request.auth.tenant.id, kind: body.kind, created_at: new Date().toISOString() })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new HttpError('conflict', `body.address: ${address} is already in use`);
      throw error;
    }
    await auditSettings(request.auth, 'mail_address_changed', { address, kind: body.kind, change: 'added' });
    return { address, kind: body.kind };
  });
  app.delete(MAIL_API.mailAddress, async (request, reply) => {
    assertAdmin(request.auth.user);
    const { address } = parseRequest(AddressParams, request.params, 'params');
    const deleted = await db
      .deleteFrom('mail_addresses')
      .where('tenant_id', '=', request.auth.tenant.id)
      .where('address', '=', address.toLowerCase())
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) throw new HttpError('not_found', `no address ${address}`);
    await auditSettings(request.auth, 'mail_address_changed', { address: address.toLowerCase(), change: 'removed' });
    return reply.status(204).send();
  });

  registerMailEvents(app, ctx, config, notifier);
  return notifier;
}

/**
 * GET /api/mail/events: Server-Sent Events. Everyone gets `queue` when the mail queue changes;
 * supervisors and admins also get `summary`, the whole live view, on connect, after every
 * change (debounced) and every 15 s (presence and leases also change by the clock).
 */
function registerMailEvents(app: FastifyInstance, ctx: BackendContext, config: MailConfig, notifier: MailNotifier): void {
  const db = mailDb(ctx.handle.db);
  const openEventStream = eventStreams(app, ctx.handle);

  app.get(MAIL_API.mailEvents, async (request, reply) => {
    const { tenant, user } = request.auth;
    const supervisor = isSupervisor(user);
    const stream = openEventStream<'queue' | 'summary'>(request, reply);
    let lastWaiting = -1;
    let lastNeedsMatching = -1;
    let pushing = false;
    let again = false;
    const push = async () => {
      if (pushing) {
        again = true;
        return;
      }
      pushing = true;
      try {
        do {
          again = false;
          const now = await databaseNow(db, ctx.handle.dialect);
          const { waiting } = await queueCounts(db, tenant.id, now, config);
          const needsMatching = await needsMatchingCount(ctx.handle, tenant.id);
          if (waiting !== lastWaiting || needsMatching !== lastNeedsMatching) {
            lastWaiting = waiting;
            lastNeedsMatching = needsMatching;
            stream.send('queue', { waiting, needsMatching });
          }
          if (supervisor) stream.send('summary', await supervisorSummary(db, ctx.handle.dialect, config, tenant.id, user));
        } while (again && stream.isOpen());
      } catch (error) {
        request.log.warn({ err: error }, 'mail events: could not compute an update');
      } finally {
        pushing = false;
      }
    };
    let debounce: NodeJS.Timeout | null = null;
    const unsubscribe = notifier.subscribe(tenant.id, () => {
      if (debounce) return;
      debounce = setTimeout(() => {
        debounce = null;
        void push();
      }, PUSH_DEBOUNCE_MS);
    });
    const refresh = supervisor ? setInterval(() => void push(), SUMMARY_REFRESH_MS) : null;
    stream.onEnd(() => {
      if (debounce) clearTimeout(debounce);
      if (refresh) clearInterval(refresh);
      unsubscribe();
    });
    await push();
  });
}
