import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { API, CustomerResponse, type CustomerCreate, type OutboxEntry } from '../../shared/api.js';
import type { CallMeta, Contact, Incident } from '../../shared/domain.js';
import {
  CallEventInput,
  RefusedCallEvent,
  SipCredentials,
  TelephonySettings,
  type CachedContact,
  type CallWrapUpInput,
  type CustomerDetail,
  type IpcHandlerTable,
  type SessionInfo,
} from '../../shared/ipc.js';
import { CodedError } from '../../shared/result.js';
import type { BackendClient } from './backend-client.js';
import type { CacheStore } from './cache/cache-store.js';
import type { Logger } from './logger.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './sync/backoff.js';
import type { SyncEngine } from './sync/sync-engine.js';

/**
 * The desktop core's telephony: SIP credentials and settings for the renderer's softphone,
 * the call events the backend audits, the wrap-up through the outbox, and "create customer"
 * from an unknown caller's panel. The operator's status is agent-status.ts's; the presence
 * heartbeat is the mail channel's (mail.ts): one per app.
 *
 * The backend routes (backend/src/telephony/routes.ts, TELEPHONY_API there) are not in
 * shared/api.ts's API table yet, so their paths are repeated here; the core's tests run
 * against the real backend and fail if the two drift apart.
 */
export const TELEPHONY_PATHS = {
  sipCredentials: '/api/sip/credentials',
  telephonySettings: '/api/telephony/settings',
  callEvents: '/api/calls/events',
} as const;

export interface TelephonyTuning {
  /** Retry delays of call events while the backend cannot be reached. */
  backoff: BackoffPolicy;
}

export const DEFAULT_TELEPHONY_TUNING: TelephonyTuning = {
  backoff: DEFAULT_BACKOFF,
};

/** The part of the core's open session telephony works with. */
export interface TelephonyHost {
  info: SessionInfo;
  client: BackendClient;
  store: CacheStore;
  engine: SyncEngine;
  emit: (event: 'calls:refused', payload: { refused: RefusedCallEvent[] }) => void;
}

/** Cache meta keys (the cache is per user, so these are too). */
export const TELEPHONY_META = {
  settings: 'telephony.settings',
  pendingCallEvents: 'telephony.pendingCallEvents',
  refusedCallEvents: 'telephony.refusedCallEvents',
} as const;

/** Short: the softphone asks these right after login and when it (re)registers. */
const CREDENTIALS_TIMEOUT_MS = 10_000;
const SETTINGS_TIMEOUT_MS = 10_000;
const CALL_EVENT_TIMEOUT_MS = 10_000;
/** At logout the operator is leaving: the last call events get this long, then stay stored. */
const SIGN_OUT_FLUSH_MS = 3_000;
/**
 * Call events waiting for the backend are bounded: a few thousand are days of calls offline.
 * Beyond that the oldest go (logged), so a laptop left offline for months does not grow
 * without limit.
 */
const MAX_PENDING_CALL_EVENTS = 5_000;
/** Refused events wait for the operator; past this many the oldest go (logged). */
const MAX_REFUSED_CALL_EVENTS = 100;
/** What the backend's refusal means: sending the same event again cannot help by itself. */
const REFUSALS = new Set(['invalid_input', 'not_found', 'forbidden']);

type CallEvent = z.infer<typeof CallEventInput>;
const PendingCallEvents = z.array(CallEventInput);
const RefusedCallEvents = z.array(RefusedCallEvent);

/**
 * Call events go to the backend in order, one at a time, in the background: the renderer
 * never waits for them (the screen pop must not). They are kept in the cache's meta table
 * until the backend has them, so neither an offline period nor a restart loses one. An event
 * the backend refuses is set aside (stored too) and shown to the operator, who may send it
 * again (after signing in again, say) or discard it: it is never dropped without them knowing.
 */
class CallEventQueue {
  readonly #host: TelephonyHost;
  readonly #logger: Logger;
  readonly #backoff: BackoffPolicy;
  #pending: CallEvent[];
  #refused: RefusedCallEvent[];
  #draining: Promise<void> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #failures = 0;
  #stopped = false;
  readonly #unsubscribe: () => void;

  constructor(host: TelephonyHost, logger: Logger, backoff: BackoffPolicy) {
    this.#host = host;
    this.#logger = logger;
    this.#backoff = backoff;
    this.#pending = this.#load();
    this.#refused = this.#loadRefused();
    // The sync engine notices first when the backend is back: send what waited at once.
    let wasOnline = host.engine.status().online;
    this.#unsubscribe = host.engine.onStatus((status) => {
      if (status.online && !wasOnline) this.#kick();
      wasOnline = status.online;
    });
  }

  start(): void {
    this.#kick();
  }

  push(event: CallEvent): void {
    this.#pending.push(event);
    if (this.#pending.length > MAX_PENDING_CALL_EVENTS) {
      const dropped = this.#pending.splice(0, this.#pending.length - MAX_PENDING_CALL_EVENTS);
      this.#logger.warn('too many call events waiting for the backend: dropped the oldest', { dropped: dropped.length });
    }
    this.#save();
    this.#kick();
  }

  refused(): RefusedCallEvent[] {
    return [...this.#refused];
  }

  /** The operator sends a refused event again: it goes back into the queue, in time order. */
  resend(id: string): RefusedCallEvent[] {
    const entry = this.#takeRefused(id);
    this.#pending.push(entry.input);
    this.#pending.sort((a, b) => a.at.localeCompare(b.at));
    this.#save();
    this.#kick();
    return this.refused();
  }

  discard(id: string): RefusedCallEvent[] {
    const entry = this.#takeRefused(id);
    this.#logger.info('the operator discarded a refused call event', { event: entry.input.event, code: entry.code });
    return this.refused();
  }

  #takeRefused(id: string): RefusedCallEvent {
    const index = this.#refused.findIndex((entry) => entry.id === id);
    if (index < 0) throw new CodedError('not_found', `refused call event ${id}: not on this computer (sent again or discarded already)`);
    const [entry] = this.#refused.splice(index, 1);
    this.#saveRefused();
    return entry!;
  }

  #setAside(event: CallEvent, error: CodedError): void {
    this.#logger.warn('the backend refused a call event; kept for the operator', { event: event.event, code: error.code });
    this.#refused.push({ id: randomUUID(), input: event, code: error.code, message: error.message.slice(0, 500), refusedAt: new Date().toISOString() });
    if (this.#refused.length > MAX_REFUSED_CALL_EVENTS) {
      const dropped = this.#refused.splice(0, this.#refused.length - MAX_REFUSED_CALL_EVENTS);
      this.#logger.warn('too many refused call events kept: dropped the oldest', { dropped: dropped.length });
    }
    this.#saveRefused();
  }

  /** Resolves when nothing is left to send, or after `ms` (whatever is left stays stored). */
  async flush(ms: number): Promise<void> {
    if (this.#retryTimer) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    this.#kick();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#draining ?? Promise.resolve(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    await this.#draining;
  }

  #kick(): void {
    if (this.#stopped || this.#draining || this.#pending.length === 0) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = null;
    });
  }

  async #drain(): Promise<void> {
    while (!this.#stopped) {
      const event = this.#pending[0];
      if (!event) return;
      try {
        await this.#host.client.request('POST', TELEPHONY_PATHS.callEvents, null, { body: event, timeoutMs: CALL_EVENT_TIMEOUT_MS });
      } catch (error) {
        if (error instanceof CodedError && REFUSALS.has(error.code)) {
          this.#setAside(event, error);
        } else {
          this.#retryLater(error);
          return;
        }
      }
      this.#failures = 0;
      if (this.#pending[0] === event) this.#pending.shift();
      this.#save();
    }
  }

  #retryLater(error: unknown): void {
    const code = error instanceof CodedError ? error.code : 'internal';
    if (code !== 'offline') this.#logger.warn('could not send a call event; will retry', { code });
    const delay = backoffDelay(this.#failures++, this.#backoff);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#kick();
    }, delay);
    this.#retryTimer.unref();
  }

  #load(): CallEvent[] {
    const stored = this.#host.store.getMeta(TELEPHONY_META.pendingCallEvents);
    if (stored === null) return [];
    try {
      const parsed = PendingCallEvents.safeParse(JSON.parse(stored));
      if (parsed.success) return parsed.data;
    } catch {
      // Unreadable: reported below like a schema mismatch.
    }
    this.#logger.warn('stored call events could not be read; dropped them', {});
    return [];
  }

  #save(): void {
    if (this.#pending.length === 0) this.#host.store.deleteMeta(TELEPHONY_META.pendingCallEvents);
    else this.#host.store.setMeta(TELEPHONY_META.pendingCallEvents, JSON.stringify(this.#pending));
  }

  #loadRefused(): RefusedCallEvent[] {
    const stored = this.#host.store.getMeta(TELEPHONY_META.refusedCallEvents);
    if (stored === null) return [];
    try {
      const parsed = RefusedCallEvents.safeParse(JSON.parse(stored));
      if (parsed.success) return parsed.data;
    } catch {
      // Unreadable: reported below.
    }
    this.#logger.warn('stored refused call events could not be read; dropped them', {});
    return [];
  }

  #saveRefused(): void {
    if (this.#refused.length === 0) this.#host.store.deleteMeta(TELEPHONY_META.refusedCallEvents);
    else this.#host.store.setMeta(TELEPHONY_META.refusedCallEvents, JSON.stringify(this.#refused));
    this.#host.emit('calls:refused', { refused: this.refused() });
  }
}

/** Telephony of one open session; started with the session, stopped with it. */
export class TelephonySession {
  readonly #host: TelephonyHost;
  readonly #events: CallEventQueue;
  #stopped = false;

  constructor(host: TelephonyHost, logger: Logger, tuning: Partial<TelephonyTuning> = {}) {
    this.#host = host;
    const { backoff } = { ...DEFAULT_TELEPHONY_TUNING, ...tuning };
    this.#events = new CallEventQueue(host, logger, backoff);
  }

  start(): void {
    this.#events.start();
  }

  /**
   * Stops the event queue. Signing out, the last call events get a short moment to reach the
   * backend first (what is left stays in the cache for this user's next session).
   */
  async stop({ signingOut }: { signingOut: boolean }): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (signingOut) await this.#events.flush(SIGN_OUT_FLUSH_MS);
    await this.#events.stop();
  }

  /** Never stored: the softphone keeps them in memory and asks again before they expire. */
  credentials(): Promise<SipCredentials> {
    return this.#host.client.request('POST', TELEPHONY_PATHS.sipCredentials, SipCredentials, { timeoutMs: CREDENTIALS_TIMEOUT_MS });
  }

  /** From the backend when it answers (and remembered), else the last ones it gave. */
  async settings(): Promise<TelephonySettings> {
    const { client, store } = this.#host;
    try {
      const settings = await client.request('GET', TELEPHONY_PATHS.telephonySettings, TelephonySettings, { timeoutMs: SETTINGS_TIMEOUT_MS });
      store.setMeta(TELEPHONY_META.settings, JSON.stringify(settings));
      return settings;
    } catch (error) {
      if (!(error instanceof CodedError && error.code === 'offline')) throw error;
      const cached = readCachedSettings(store);
      if (cached) return cached;
      throw new CodedError('offline', 'The backend cannot be reached and no telephony settings are cached yet');
    }
  }

  reportCallEvent(event: CallEvent): null {
    this.#events.push(event);
    return null;
  }

  refusedCallEvents(): RefusedCallEvent[] {
    return this.#events.refused();
  }

  resendRefusedCallEvent(id: string): RefusedCallEvent[] {
    return this.#events.resend(id);
  }

  discardRefusedCallEvent(id: string): RefusedCallEvent[] {
    return this.#events.discard(id);
  }

  /**
   * The wrap-up becomes an outbox entry and, in the same cache transaction, a pending call
   * contact (and a pending incident when it opens one), shown at once like a note. The new
   * incident takes the entry's clientId as its id, as the backend does (telephony/wrap-up.ts),
   * so the feed's copy replaces the pending one.
   */
  wrapUp(input: CallWrapUpInput): CachedContact {
    const { store, engine, info } = this.#host;
    const { user } = info;
    const clientId = randomUUID();
    const createdAt = new Date().toISOString();
    const inbound = input.direction === 'inbound';
    const callMeta: CallMeta = {
      callId: input.callId,
      from: inbound ? input.remote : user.login,
      to: inbound ? user.login : input.remote,
      startedAt: input.startedAt,
      answeredAt: input.answeredAt,
      endedAt: input.endedAt,
      durationSeconds: input.answeredAt === null ? 0 : Math.max(0, Math.round((Date.parse(input.endedAt) - Date.parse(input.answeredAt)) / 1000)),
      disposition: input.disposition,
      callbackNeeded: input.callbackNeeded,
      ...(input.callbackNeeded && input.callbackDueAt ? { callbackDueAt: input.callbackDueAt } : {}),
    };
    const entry: Extract<OutboxEntry, { type: 'log_call' }> = {
      type: 'log_call',
      clientId,
      customerId: input.customerId,
      incidentId: input.incidentId,
      newIncidentTitle: input.newIncidentTitle,
      direction: input.direction,
      summary: input.summary,
      body: input.body,
      callMeta,
      createdAt,
    };
    const incidentId = input.incidentId ?? clientId;
    const newIncident: Incident | null =
      input.newIncidentTitle === null
        ? null
        : {
            id: clientId,
            customerId: input.customerId,
            title: input.newIncidentTitle,
            status: 'open',
            assigneeId: user.id,
            assigneeName: user.displayName,
            openedAt: createdAt,
            closedAt: null,
            updatedAt: createdAt,
          };
    const contact: Contact = {
      id: clientId,
      incidentId,
      customerId: input.customerId,
      kind: 'call',
      direction: input.direction,
      occurredAt: input.startedAt,
      agentId: user.id,
      agentName: user.displayName,
      summary: input.summary,
      body: input.body,
      callMeta,
    };
    const incident = input.incidentId === null ? null : store.getIncident(input.incidentId);
    if (incident && incident.customerId !== input.customerId) {
      throw new CodedError('invalid_input', 'incidentId: this incident belongs to another customer');
    }
    // A customer that is not in the cache (found online only) cannot hold a pending contact;
    // the entry is still saved and pushed, and the feed brings the contact.
    const showable = store.getDetail(input.customerId) !== null && (input.incidentId === null || incident !== null);
    store.addPendingCall(entry, showable ? contact : null, showable ? newIncident : null);
    engine.outboxChanged();
    return { ...contact, pending: true };
  }

  /** Online only: a customer number must be unique, which only the backend can tell. */
  async createCustomer(input: CustomerCreate): Promise<CustomerDetail> {
    const { client, store } = this.#host;
    const { customer } = await client.request('POST', API.customers, CustomerResponse, { body: input });
    store.upsertRecords([{ customer, incidents: [], contacts: [] }]);
    return { customer, incidents: [], contacts: [], source: 'online' };
  }

}

function readCachedSettings(store: CacheStore): TelephonySettings | null {
  const stored = store.getMeta(TELEPHONY_META.settings);
  if (stored === null) return null;
  try {
    const parsed = TelephonySettings.safeParse(JSON.parse(stored));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

type TelephonyChannel =
  | 'sip:credentials'
  | 'telephony:settings'
  | 'calls:event'
  | 'calls:refused'
  | 'calls:resendRefused'
  | 'calls:discardRefused'
  | 'calls:wrapUp'
  | 'customers:create';

/** The telephony channels of the core's handler table; `session` throws when nobody is logged in. */
export function telephonyHandlers(session: () => TelephonySession): Pick<IpcHandlerTable, TelephonyChannel> {
  return {
    'sip:credentials': () => session().credentials(),
    'telephony:settings': () => session().settings(),
    'calls:event': async (payload) => session().reportCallEvent(payload),
    'calls:refused': async () => session().refusedCallEvents(),
    'calls:resendRefused': async (payload) => session().resendRefusedCallEvent(payload.id),
    'calls:discardRefused': async (payload) => session().discardRefusedCallEvent(payload.id),
    'calls:wrapUp': async (payload) => session().wrapUp(payload),
    'customers:create': (payload) => session().createCustomer(payload),
  };
}
