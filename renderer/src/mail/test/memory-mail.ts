import type { MailTemplate, MailView, ReplyView, ReviewCall, SupervisorSummary } from '../../../../shared/api.js';
import type { Incident } from '../../../../shared/domain.js';
import { toExternalUrl, type IpcHandlerTable, type LocalReplyDraft, type MailIpcChannel, type SessionInfo } from '../../../../shared/ipc.js';
import { CodedError } from '../../../../shared/result.js';

/**
 * The mail channel of the in-memory core (renderer tests only): a queue of mails, templates,
 * replies through their states, and drafts kept "on this computer" while `offline` is set.
 * Results are checked against the shared schemas by MemoryBridge like every other channel.
 */

const T0 = '2024-05-01T01:00:00.000Z';

export function makeMail(overrides: Partial<MailView> = {}): MailView {
  return {
    id: 'mail-1',
    kind: 'email',
    messageId: '<m1@example.jp>',
    subject: '請求書について',
    fromAddress: 'taro.yamada@example.jp',
    fromName: '山田 太郎',
    replyTo: null,
    to: ['support@demo.tsunagu.localhost'],
    cc: [],
    recipientAddress: 'support@demo.tsunagu.localhost',
    receivedAt: T0,
    dateHeader: T0,
    text: '請求書の金額が違います。',
    html: null,
    rawSize: 1200,
    rawTruncated: false,
    attachments: [],
    customerId: 'cust-yamada',
    customerName: '山田 太郎',
    incidentId: 'inc-new',
    incidentRef: 'INC-7',
    incidentTitle: '配送の遅延',
    contactId: 'contact-mail-1',
    threadMatch: 'sender',
    queueState: 'waiting',
    leaseUserId: null,
    leaseExpiresAt: null,
    handledBy: null,
    closeNote: null,
    matchState: 'matched',
    matchProblem: null,
    claimedIncident: null,
    claimedIncidentHidden: false,
    senderKnown: true,
    senderCustomers: [],
    customerEmails: ['taro.yamada@example.jp'],
    htmlLostText: false,
    ...overrides,
  };
}

export const MEMORY_TEMPLATES: MailTemplate[] = [
  {
    id: 'tpl-en',
    name: 'Reply (English)',
    subject: '',
    body: 'Dear {{customerName}},\n\nAbout {{incidentRef}}: \n\nKind regards,\n{{operatorName}}',
    updatedAt: T0,
  },
];

const INCIDENT: Incident = {
  id: 'inc-new',
  customerId: 'cust-yamada',
  title: '配送の遅延',
  status: 'open',
  assigneeId: null,
  assigneeName: null,
  openedAt: T0,
  closedAt: null,
  updatedAt: T0,
};

export class MemoryMail {
  /** When true the "backend" is unreachable: drafts stay local, review answers `offline`. */
  offline = false;
  /** What the summary says about replies waiting for a retry after the relay failed. */
  relayTrouble: SupervisorSummary['mails']['relayTrouble'] = null;
  /** What the summary says about the call queue. */
  callQueue: SupervisorSummary['callQueue'] = { callers: [], abandonedToday: 0 };
  readonly mails: MailView[] = [];
  readonly replies = new Map<string, ReplyView>();
  readonly localDrafts = new Map<string, LocalReplyDraft>();
  /** Calls of "calls for you" a mail may answer, by key: the call, its customer and their address. */
  readonly calls = new Map<string, { call: ReviewCall; customerId: string; toAddress: string }>();
  templates: MailTemplate[] = MEMORY_TEMPLATES;
  /** Mails whose original (.eml) was asked for. */
  readonly rawRequests: string[] = [];
  /** What the core's image proxy would fetch: URL → data: URL. Any other URL is unreachable. */
  readonly remoteImages = new Map<string, string>();
  /** Every URL the renderer asked the image proxy for. */
  readonly remoteImageRequests: string[] = [];
  /** Fax pages by attachment id (PNG base64), as the backend would render them. */
  readonly faxPages = new Map<string, string[]>();
  /** Attachment downloads asked for, by attachment id. */
  readonly attachmentRequests: string[] = [];

  constructor(private readonly session: () => SessionInfo | null) {}

  queue(mail: MailView): void {
    this.mails.push(mail);
  }

  #user() {
    const session = this.session();
    if (!session) throw new CodedError('unauthenticated', 'not signed in');
    return session.user;
  }

  #online(): void {
    if (this.offline) throw new CodedError('offline', 'backend unreachable');
  }

  #mail(mailId: string): MailView {
    const mail = this.mails.find((candidate) => candidate.id === mailId);
    if (!mail) throw new CodedError('not_found', `no mail ${mailId}`);
    return mail;
  }

  #reply(replyId: string): ReplyView {
    const reply = this.replies.get(replyId);
    if (!reply) throw new CodedError('not_found', `no reply ${replyId}`);
    return reply;
  }

  #update(reply: ReplyView, change: Partial<ReplyView>): ReplyView {
    const next = { ...reply, ...change, updatedAt: new Date().toISOString() };
    this.replies.set(reply.id, next);
    return next;
  }

  summary(): SupervisorSummary {
    const count = (state: ReplyView['state']) => [...this.replies.values()].filter((reply) => reply.state === state).length;
    return {
      now: T0,
      paused: false,
      busyCallsPerAgent: 0.5,
      agents: [],
      calls: { ringing: 0, connected: 0 },
      mails: {
        waiting: this.mails.filter((mail) => mail.queueState === 'waiting' && mail.leaseUserId === null).length,
        offered: this.mails.filter((mail) => mail.queueState === 'waiting' && mail.leaseUserId !== null).length,
        pendingReview: count('pending_review'),
        sending: count('approved'),
        failed: count('failed'),
        relayTrouble: this.relayTrouble,
      },
      today: { date: '2024-05-01', timeZone: 'Asia/Tokyo', hours: Array.from({ length: 24 }, (_, hour) => ({ hour, calls: 0, mails: 0 })) },
      callQueue: this.callQueue,
    };
  }

  readonly handlers: Pick<IpcHandlerTable, MailIpcChannel> = {
    'mail:offerNext': async () => {
      const user = this.#user();
      this.#online();
      const mail = this.mails.find(
        (candidate) =>
          candidate.queueState === 'waiting' && candidate.matchState === 'matched' && (candidate.leaseUserId === null || candidate.leaseUserId === user.id),
      );
      if (!mail) return { status: 'none', mail: null, leaseExpiresAt: null, agentStatus: 'available' };
      mail.leaseUserId = user.id;
      mail.leaseExpiresAt = '2099-01-01T00:00:00.000Z';
      return { status: 'offered', mail: { ...mail }, leaseExpiresAt: mail.leaseExpiresAt, agentStatus: 'available' };
    },
    'mail:byContact': async ({ contactId }) => {
      this.#user();
      this.#online();
      const mail = this.mails.find((candidate) => candidate.contactId === contactId);
      if (!mail) throw new CodedError('not_found', `no mail behind contact ${contactId}`);
      return { ...mail };
    },
    'mail:faxPages': async ({ attachmentId }) => {
      this.#online();
      const pages = this.faxPages.get(attachmentId);
      if (!pages) throw new CodedError('invalid_input', 'the attachment is not a PDF or TIFF fax image');
      return { attachmentId, pageCount: pages.length, pages: pages.map((pngBase64) => ({ pngBase64 })) };
    },
    'mail:attachment': async ({ attachmentId }) => {
      this.#online();
      this.attachmentRequests.push(attachmentId);
      const attachment = this.mails.flatMap((mail) => mail.attachments).find((a) => a.id === attachmentId);
      if (!attachment) throw new CodedError('not_found', `no attachment ${attachmentId}`);
      return { filename: attachment.filename, contentType: attachment.contentType, base64: btoa('file') };
    },
    'mail:raw': async ({ mailId }) => {
      this.#online();
      this.rawRequests.push(mailId);
      return { filename: `mail-${mailId}.eml`, base64: btoa(`Message-ID: <${this.#mail(mailId).id}@test>`) };
    },
    'mail:get': async ({ mailId }) => {
      this.#user();
      return { ...this.#mail(mailId) };
    },
    'mail:release': async ({ mailId }) => {
      this.#online();
      const mail = this.#mail(mailId);
      mail.leaseUserId = null;
      mail.leaseExpiresAt = null;
      return null;
    },
    'mail:close': async ({ mailId, note }) => {
      this.#online();
      const mail = this.#mail(mailId);
      Object.assign(mail, { queueState: 'closed', closeNote: note, leaseUserId: null, leaseExpiresAt: null });
      return { ...mail };
    },
    'mail:templates': async () => {
      this.#online();
      return this.templates;
    },
    'mail:needingMatch': async () => {
      this.#user();
      this.#online();
      return this.mails.filter((mail) => mail.queueState === 'waiting' && mail.matchState === 'needs_matching').map((mail) => ({ ...mail }));
    },
    'mail:match': async ({ mailId, target }) => {
      this.#online();
      const mail = this.#mail(mailId);
      if (mail.matchState !== 'needs_matching') throw new CodedError('conflict', `mail ${mailId} is matched already`);
      const claimed = mail.claimedIncident;
      if (target === 'claimed') {
        if (!claimed) throw new CodedError('not_found', 'the incident the mail points at is not one you may see');
        Object.assign(mail, {
          customerId: claimed.customerId,
          customerName: claimed.customerName,
          incidentId: claimed.incidentId,
          incidentRef: claimed.incidentRef,
          incidentTitle: claimed.incidentTitle,
          senderKnown: false,
        });
      }
      Object.assign(mail, { matchState: 'matched' });
      return { ...mail };
    },
    'reply:save': async ({ replyId, ...request }) => {
      const user = this.#user();
      if (this.offline) {
        const previous = this.localDrafts.get(replyId);
        const local: LocalReplyDraft = {
          replyId,
          mailId: request.mailId ?? previous?.mailId ?? null,
          callKey: request.callKey ?? previous?.callKey ?? null,
          subject: request.subject ?? previous?.subject ?? null,
          body: request.body ?? previous?.body ?? null,
          templateId: request.templateId ?? previous?.templateId ?? null,
          savedAt: new Date().toISOString(),
          error: null,
        };
        this.localDrafts.set(replyId, local);
        return { reply: null, local };
      }
      const existing = this.replies.get(replyId);
      if (existing) {
        if (existing.state !== 'draft' && existing.state !== 'returned') throw new CodedError('conflict', `the reply is ${existing.state}`);
        const toAddress = request.toAddress ?? existing.toAddress;
        const known = existing.mailId === null ? existing.toAddressKnown : this.#mail(existing.mailId).customerEmails.includes(toAddress);
        const reply = this.#update(existing, {
          state: 'draft',
          subject: request.subject ?? existing.subject,
          body: request.body ?? existing.body,
          toAddress,
          toAddressKnown: known,
        });
        return { reply, local: null };
      }
      const origin = request.callKey === undefined ? undefined : this.calls.get(request.callKey);
      if (request.callKey !== undefined) {
        if (!origin) throw new CodedError('not_found', `body.callKey: no call ${request.callKey}`);
        const now = new Date().toISOString();
        const reply: ReplyView = {
          id: replyId,
          mailId: null,
          callKey: request.callKey,
          incidentId: INCIDENT.id,
          incidentRef: null,
          customerId: origin.customerId,
          authorId: user.id,
          authorName: user.displayName,
          state: 'draft',
          subject: request.subject ?? '',
          body: request.body ?? '',
          submittedBody: null,
          editedByReviewer: false,
          toAddress: origin.toAddress,
          toAddressKnown: true,
          fromAddress: 'support@example.jp',
          messageId: null,
          reviewComment: null,
          reviewerId: null,
          reviewerName: null,
          reviewedAt: null,
          submittedAt: null,
          attempts: 0,
          nextAttemptAt: null,
          lastError: null,
          failure: null,
          sentAt: null,
          contactId: null,
          createdAt: now,
          updatedAt: now,
        };
        this.replies.set(replyId, reply);
        return { reply, local: null };
      }
      if (!request.mailId) throw new CodedError('invalid_input', 'body.mailId: required to create a reply');
      const mail = this.#mail(request.mailId);
      const now = new Date().toISOString();
      const reply: ReplyView = {
        id: replyId,
        mailId: mail.id,
        callKey: null,
        incidentId: mail.incidentId,
        incidentRef: mail.incidentRef,
        customerId: mail.customerId,
        authorId: user.id,
        authorName: user.displayName,
        state: 'draft',
        subject: request.subject ?? `Re: ${mail.subject} [#${mail.incidentRef}]`,
        body: request.body ?? '',
        submittedBody: null,
        editedByReviewer: false,
        toAddress: request.toAddress ?? (mail.senderKnown ? mail.fromAddress : (mail.customerEmails[0] ?? mail.fromAddress)),
        toAddressKnown: mail.customerEmails.includes(request.toAddress ?? (mail.senderKnown ? mail.fromAddress : (mail.customerEmails[0] ?? mail.fromAddress))),
        fromAddress: mail.recipientAddress,
        messageId: null,
        reviewComment: null,
        reviewerId: null,
        reviewerName: null,
        reviewedAt: null,
        submittedAt: null,
        attempts: 0,
        nextAttemptAt: null,
        lastError: null,
        failure: null,
        sentAt: null,
        contactId: null,
        createdAt: now,
        updatedAt: now,
      };
      this.replies.set(replyId, reply);
      return { reply, local: null };
    },
    'reply:submit': async ({ replyId }) => {
      this.#online();
      const reply = this.#reply(replyId);
      if (reply.state !== 'draft') throw new CodedError('conflict', `the reply is ${reply.state}`);
      if (reply.mailId !== null) Object.assign(this.#mail(reply.mailId), { queueState: 'answered', leaseUserId: null, leaseExpiresAt: null });
      return this.#update(reply, { state: 'pending_review', submittedBody: reply.body, submittedAt: new Date().toISOString() });
    },
    'reply:myReplies': async ({ state }) => {
      const user = this.#user();
      this.#online();
      return [...this.replies.values()].filter((reply) => reply.authorId === user.id && (state === undefined || reply.state === state));
    },
    'reply:localDrafts': async () => [...this.localDrafts.values()],
    'reply:discardLocal': async ({ replyId }) => {
      this.localDrafts.delete(replyId);
      return null;
    },
    'review:queue': async () => {
      this.#online();
      return [...this.replies.values()]
        .filter((reply) => reply.state === 'pending_review')
        .map((reply) => ({ reply, mail: reply.mailId === null ? null : { ...this.#mail(reply.mailId) }, call: this.calls.get(reply.callKey ?? '')?.call ?? null, incident: INCIDENT, contacts: [] }));
    },
    'review:approve': async ({ replyId, body }) => {
      const user = this.#user();
      this.#online();
      const reply = this.#reply(replyId);
      if (reply.state !== 'pending_review') throw new CodedError('conflict', `the reply is ${reply.state}`);
      return this.#update(reply, {
        state: 'approved',
        body: body ?? reply.body,
        editedByReviewer: body !== undefined && body !== reply.body,
        reviewerId: user.id,
        reviewerName: user.displayName,
        reviewedAt: new Date().toISOString(),
      });
    },
    'review:return': async ({ replyId, comment }) => {
      const user = this.#user();
      this.#online();
      const reply = this.#reply(replyId);
      if (reply.state !== 'pending_review') throw new CodedError('conflict', `the reply is ${reply.state}`);
      return this.#update(reply, { state: 'returned', reviewComment: comment, reviewerId: user.id, reviewerName: user.displayName, reviewedAt: new Date().toISOString() });
    },
    'review:failed': async () => {
      this.#online();
      return [...this.replies.values()].filter((reply) => reply.state === 'failed');
    },
    'review:requeue': async ({ replyId }) => {
      this.#online();
      return this.#update(this.#reply(replyId), { state: 'approved', failure: null });
    },
    'supervisor:summary': async () => {
      this.#online();
      return this.summary();
    },
    'mail:remoteImage': async ({ url }) => {
      this.remoteImageRequests.push(url);
      const dataUrl = this.remoteImages.get(url);
      return dataUrl === undefined ? { loaded: false, refused: 'unreachable', message: `no image at ${url}` } : { loaded: true, dataUrl };
    },
    'shell:openExternal': async ({ url }) => ({ url: toExternalUrl(url) ?? url, opened: false }),
  };
}
