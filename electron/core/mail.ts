import {
  FaxPagesView,
  MAIL_API,
  MailOfferResponse,
  MailQueueEvent,
  MailTemplatesResponse,
  MailsNeedingMatchResponse,
  MailView,
  RepliesResponse,
  ReplyView,
  ReviewQueueResponse,
  SupervisorSummary,
  type ReplyDraftRequest,
} from '../../shared/api.js';
import type { User } from '../../shared/domain.js';
import { toExternalUrl, type IpcHandlerTable, type MailIpcChannel, type ReplySaveRequest, type ReplySaveResult } from '../../shared/ipc.js';
import { CodedError } from '../../shared/result.js';
import { describeZodError } from '../../shared/validation.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BackendClient } from './backend-client.js';
import { cacheProblemOf } from './cache/cache-health.js';
import type { CoreEventListener } from './core.js';
import type { Logger } from './logger.js';
import { MAIL_DRAFTS_FILE, MailDraftStore } from './mail-drafts.js';
import { fetchRemoteImage } from './mail-images.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './sync/backoff.js';
import { followServerSentEvents } from './sync/server-sent-events.js';

export type MailHandlerTable = Pick<IpcHandlerTable, MailIpcChannel>;

export interface MailTuning {
  /** The backend drops an operator's lease after 60 s without a heartbeat; 25 s leaves room for one loss. */
  heartbeatMs: number;
  /** Reconnect delays of the event stream. */
  backoff: BackoffPolicy;
  /** The stream is reopened when nothing (not even the 2 s heartbeat) came for this long. */
  eventsSilenceMs: number;
}

export const DEFAULT_MAIL_TUNING: MailTuning = { heartbeatMs: 25_000, backoff: DEFAULT_BACKOFF, eventsSilenceMs: 5_000 };

export interface MailSession {
  user: User;
  client: BackendClient;
  /** The user's own folder (beside cache.db): drafts saved offline are kept there. */
  userDir: string;
  /** The key of the user's cache; the drafts file is encrypted with it too. */
  cacheKey: Buffer;
  /** The backend answered just now (login, session check); false for a session restored offline. */
  online: boolean;
}

export interface MailChannelOptions {
  logger: Logger;
  emit: CoreEventListener;
  tuning?: Partial<MailTuning>;
}

interface ActiveMail {
  /** Closes the drafts (and removes the read-only copy of an unwritable folder's). */
  closeDrafts: () => void;
  session: MailSession;
  drafts: MailDraftStore;
  stop: AbortController;
  events: Promise<void>;
  heartbeat: NodeJS.Timeout;
  flushing: Promise<void> | null;
}

/**
 * The desktop core's half of the e-mail channel: the mail IPC channels (shared/ipc.ts,
 * MAIL_IPC_CHANNELS) over the backend's mail routes, reply drafts kept on this computer while
 * offline, the relay of the backend's mail events (queue changes, the supervisor's live view)
 * to the renderer, and the operator's presence.
 *
 * Presence: the backend offers mail only to operators whose status is `available` and who sent
 * a heartbeat within the last minute. The status itself is agent-status.ts's (set at login,
 * chosen by the operator, re-sent after an offline spell); this channel keeps it alive.
 */
export class MailChannel {
  readonly #o: MailChannelOptions;
  readonly #tuning: MailTuning;
  #active: ActiveMail | null = null;

  constructor(options: MailChannelOptions) {
    this.#o = options;
    this.#tuning = { ...DEFAULT_MAIL_TUNING, ...options.tuning };
  }

  handlers(): MailHandlerTable {
    return {
      'mail:offerNext': () => this.#client().request('POST', MAIL_API.mailOffer, MailOfferResponse),
      'mail:get': ({ mailId }) => this.#client().request('GET', route(MAIL_API.mailMessage, { id: mailId }), MailView),
      'mail:release': async ({ mailId }) => {
        await this.#client().request('POST', route(MAIL_API.mailRelease, { id: mailId }), null);
        return null;
      },
      'mail:close': ({ mailId, note }) =>
        this.#client().request('POST', route(MAIL_API.mailClose, { id: mailId }), MailView, { body: { note } }),
      'mail:templates': async () => (await this.#client().request('GET', MAIL_API.mailTemplates, MailTemplatesResponse)).templates,
      'mail:needingMatch': async () => (await this.#client().request('GET', MAIL_API.mailsNeedingMatch, MailsNeedingMatchResponse)).mails,
      'mail:match': ({ mailId, target }) =>
        this.#client().request('POST', route(MAIL_API.mailMatch, { id: mailId }), MailView, { body: { target } }),
      'reply:save': (input) => this.#saveDraft(input),
      'reply:submit': ({ replyId }) => this.#submit(replyId),
      'reply:myReplies': async ({ state }) => {
        const query = state ? `?${new URLSearchParams({ state })}` : '';
        return (await this.#client().request('GET', `${MAIL_API.myReplies}${query}`, RepliesResponse)).replies;
      },
      'reply:localDrafts': async () => this.#require().drafts.all(),
      'reply:discardLocal': async ({ replyId }) => {
        const active = this.#require();
        active.drafts.discard(replyId);
        this.#emitDrafts(active);
        return null;
      },
      'review:queue': async () => (await this.#client().request('GET', MAIL_API.reviewQueue, ReviewQueueResponse)).items,
      'review:approve': ({ replyId, body }) =>
        this.#client().request('POST', route(MAIL_API.replyApprove, { id: replyId }), ReplyView, { body: body === undefined ? {} : { body } }),
      'review:return': ({ replyId, comment }) =>
        this.#client().request('POST', route(MAIL_API.replyReturn, { id: replyId }), ReplyView, { body: { comment } }),
      'review:failed': async () => (await this.#client().request('GET', MAIL_API.failedReplies, RepliesResponse)).replies,
      'review:requeue': ({ replyId }) => this.#client().request('POST', route(MAIL_API.replyRequeue, { id: replyId }), ReplyView),
      'supervisor:summary': () => this.#client().request('GET', MAIL_API.supervisorSummary, SupervisorSummary),
      'mail:remoteImage': ({ url }) => fetchRemoteImage(url),
      'mail:byContact': ({ contactId }) => this.#client().request('GET', route(MAIL_API.mailByContact, { contactId }), MailView),
      'mail:faxPages': ({ attachmentId }) =>
        this.#client().request('GET', route(MAIL_API.faxPages, { id: attachmentId }), FaxPagesView, { timeoutMs: FAX_RENDER_TIMEOUT_MS }),
      'mail:attachment': async ({ attachmentId }) => {
        const file = await this.#client().download(route(MAIL_API.mailAttachment, { id: attachmentId }));
        return { filename: file.filename ?? 'attachment', contentType: file.contentType, base64: file.bytes.toString('base64') };
      },
      'mail:raw': async ({ mailId }) => {
        const file = await this.#client().download(route(MAIL_API.mailRaw, { id: mailId }));
        return { filename: file.filename ?? `mail-${mailId}.eml`, base64: file.bytes.toString('base64') };
      },
      'shell:openExternal': async ({ url }) => {
        const external = toExternalUrl(url);
        // The request schema already refused anything else; this keeps the promise in the types.
        if (external === null) throw new CodedError('invalid_input', 'url: must be an absolute http(s) or mailto URL');
        return { url: external, opened: false };
      },
    };
  }

  /** Starts the channel for a session that just opened (login, restart). */
  open(session: MailSession): void {
    if (this.#active) throw new Error('The mail channel is already open for a session');
    const { drafts, dispose } = openDrafts(session, this.#o.logger);
    const stop = new AbortController();
    const heartbeat = setInterval(() => void this.#heartbeat(session), this.#tuning.heartbeatMs);
    heartbeat.unref();
    const active: ActiveMail = { session, drafts, closeDrafts: dispose, stop, heartbeat, events: Promise.resolve(), flushing: null };
    this.#active = active;
    active.events = this.#runEvents(active);
  }

  /** Sends the drafts saved offline now (before a sign-out); failures leave them waiting. */
  async flushDrafts(): Promise<void> {
    if (this.#active) await this.#flushDrafts(this.#active);
  }

  /** Stops the channel (a logout, an expiry or a shutdown alike: the status is agent-status.ts's). */
  async close(_how: { signOut: boolean }): Promise<void> {
    const active = this.#active;
    if (!active) return;
    this.#active = null;
    active.stop.abort();
    clearInterval(active.heartbeat);
    await Promise.allSettled([active.events, active.flushing]);
    active.closeDrafts();
  }

  #require(): ActiveMail {
    if (!this.#active) throw new CodedError('unauthenticated', 'Log in first');
    return this.#active;
  }

  #client(): BackendClient {
    return this.#require().session.client;
  }

  // ---- drafts -------------------------------------------------------------------------------

  /**
   * The draft is written on this computer first, then sent. Offline it stays there (and is
   * sent when the event stream reconnects); refused online, it is dropped and the refusal is
   * the answer, while the text is still in the composer.
   */
  async #saveDraft(input: ReplySaveRequest): Promise<ReplySaveResult> {
    const active = this.#require();
    const { replyId, ...request } = input;
    const stored = active.drafts.save(replyId, request, new Date().toISOString());
    try {
      const reply = await this.#putDraft(active, replyId, stored.request);
      active.drafts.sent(replyId, stored.revision);
      return { reply, local: null };
    } catch (error) {
      if (isOffline(error)) {
        this.#emitDrafts(active);
        return { reply: null, local: active.drafts.get(replyId)?.view ?? null };
      }
      active.drafts.sent(replyId, stored.revision);
      throw error;
    }
  }

  /** Submitting needs the backend; a draft still waiting here goes first, so what is reviewed is what was typed. */
  async #submit(replyId: string): Promise<ReplyView> {
    const active = this.#require();
    const waiting = active.drafts.get(replyId);
    if (waiting && waiting.view.error === null) {
      await this.#putDraft(active, replyId, waiting.request);
      active.drafts.sent(replyId, waiting.revision);
      this.#emitDrafts(active);
    }
    return active.session.client.request('POST', route(MAIL_API.replySubmit, { id: replyId }), ReplyView);
  }

  #putDraft(active: ActiveMail, replyId: string, request: ReplyDraftRequest): Promise<ReplyView> {
    // Important: PUT with the renderer's id is idempotent on the backend, so sending the same
    // draft again after a lost answer updates the one draft instead of making a second.
    return active.session.client.request('PUT', route(MAIL_API.reply, { id: replyId }), ReplyView, { body: request });
  }

  /** Sends the drafts kept here, oldest first; one flush at a time. */
  #flushDrafts(active: ActiveMail): Promise<void> {
    active.flushing ??= this.#sendWaitingDrafts(active).finally(() => {
      active.flushing = null;
    });
    return active.flushing;
  }

  async #sendWaitingDrafts(active: ActiveMail): Promise<void> {
    let changed = false;
    try {
      for (const draft of active.drafts.waiting()) {
        if (active.stop.signal.aborted) return;
        try {
          await this.#putDraft(active, draft.replyId, draft.request);
          active.drafts.sent(draft.replyId, draft.revision);
        } catch (error) {
          if (isOffline(error) || (error instanceof CodedError && error.code === 'unauthenticated')) return;
          const message = error instanceof Error ? error.message : String(error);
          this.#o.logger.warn('the backend refused a reply draft saved offline; it is kept on this computer', { replyId: draft.replyId, error: message });
          active.drafts.refused(draft.replyId, draft.revision, message);
        }
        changed = true;
      }
    } finally {
      if (changed && this.#active === active) this.#emitDrafts(active);
    }
  }

  #emitDrafts(active: ActiveMail): void {
    this.#o.emit('mail:localDrafts', { drafts: active.drafts.all() });
  }

  // ---- presence -----------------------------------------------------------------------------

  async #heartbeat(session: MailSession): Promise<void> {
    try {
      await session.client.request('POST', MAIL_API.agentHeartbeat, null);
    } catch (error) {
      // Offline: the backend counts the operator away after a minute, which is the truth.
      if (!isOffline(error)) this.#o.logger.warn('mail heartbeat failed', { error: describe(error) });
    }
  }

  // ---- events -------------------------------------------------------------------------------

  /**
   * The backend's mail event stream, relayed as core events; reconnects with backoff. Each
   * (re)connection also means the backend is reachable again: drafts kept here are sent then.
   */
  async #runEvents(active: ActiveMail): Promise<void> {
    const { signal } = active.stop;
    await followServerSentEvents({
      signal,
      backoff: this.#tuning.backoff,
      silenceMs: this.#tuning.eventsSilenceMs,
      open: (connection) => openMailEvents(active.session.client, connection),
      onOpen: () => void this.#flushDrafts(active),
      onEvent: (event) => this.#relay(event.event, event.data),
      onError: (error) => {
        // An expired token is the sync engine's to report (it ends the session); stop here.
        if (error instanceof CodedError && error.code === 'unauthenticated') return 'stop';
        if (!signal.aborted && !isOffline(error)) this.#o.logger.warn('mail event stream failed', { error: describe(error) });
      },
    });
  }

  #relay(event: string, data: string): void {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      this.#o.logger.warn('mail event with unreadable data ignored', { event });
      return;
    }
    if (event === 'queue') {
      const parsed = MailQueueEvent.safeParse(json);
      if (parsed.success) this.#o.emit('mail:queue', parsed.data);
      else this.#o.logger.warn('malformed mail queue event ignored', { error: describeZodError(parsed.error) });
    } else if (event === 'summary') {
      const parsed = SupervisorSummary.safeParse(json);
      if (parsed.success) this.#o.emit('supervisor:summary', parsed.data);
      else this.#o.logger.warn('malformed supervisor summary ignored', { error: describeZodError(parsed.error) });
    }
  }
}

/** The mail event stream takes its token in the Authorization header only (never in a URL). */
async function openMailEvents(client: BackendClient, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  if (client.token === null) throw new CodedError('unauthenticated', 'Not logged in');
  let response: Response;
  try {
    response = await fetch(`${client.baseUrl}${MAIL_API.mailEvents}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${client.token}` },
      signal,
    });
  } catch {
    throw new CodedError('offline', `The backend at ${client.baseUrl} cannot be reached`);
  }
  if (response.status === 401) throw new CodedError('unauthenticated', 'The session has ended');
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => {});
    throw new CodedError(response.status >= 500 ? 'offline' : 'internal', `The mail event stream answered HTTP ${response.status}`);
  }
  return response.body;
}

/** The backend renders every page of a fax before it answers. */
const FAX_RENDER_TIMEOUT_MS = 30_000;

function route(template: string, params: Record<string, string>): string {
  return template.replace(/:([A-Za-z]+)/g, (whole, name: string) => (name in params ? encodeURIComponent(params[name]!) : whole));
}

function isOffline(error: unknown): boolean {
  return error instanceof CodedError && error.code === 'offline';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The user's offline reply drafts. In a folder that can no longer be written (read-only, disk
 * full) they are read from a private temporary copy that refuses writes: saved drafts stay
 * readable, and a new one is refused with the clear "cannot be saved here" error instead of
 * being kept somewhere that vanishes.
 */
function openDrafts(session: MailSession, logger: Logger): { drafts: MailDraftStore; dispose: () => void } {
  try {
    const drafts = new MailDraftStore(session.userDir, session.cacheKey);
    return { drafts, dispose: () => drafts.close() };
  } catch (error) {
    if (cacheProblemOf(error) === null) throw error;
    logger.error('the local drafts cannot be written; reading a copy of them', { error: error instanceof Error ? error.message : String(error) });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-drafts-readonly-'));
    try {
      const source = path.join(session.userDir, MAIL_DRAFTS_FILE);
      for (const suffix of ['', '-wal']) {
        if (fs.existsSync(`${source}${suffix}`)) fs.copyFileSync(`${source}${suffix}`, `${path.join(dir, MAIL_DRAFTS_FILE)}${suffix}`);
      }
      const drafts = new MailDraftStore(dir, session.cacheKey);
      drafts.refuseWrites();
      return {
        drafts,
        dispose: () => {
          drafts.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (copyError) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw copyError;
    }
  }
}
