import { randomUUID } from 'node:crypto';
import {
  CALLS_FOR_YOU_API,
  CallbackTemplateResponse,
  CallbackText,
  countCalls,
  SeminarsResponse,
  type CallForYou,
  type CallHandlingAction,
  type Seminar,
} from '../../shared/calls-for-you.js';
import type { OutboxEntry } from '../../shared/api.js';
import { User } from '../../shared/domain.js';
import type { CallsForYouIpcChannel, CallsForYouView, IpcHandlerTable } from '../../shared/ipc.js';
import { mayHandleCallsForYou, mayListCallsForYou, type CallsForYouScope } from '../../shared/permissions.js';
import { CodedError } from '../../shared/result.js';
import { META as SYNC_META } from './sync/snapshot.js';
import type { TelephonyHost } from './telephony.js';
import { readStoredJson } from './cache/stored-json.js';

/**
 * "Calls for you" in the core: listed from the user's encrypted cache, online and offline alike.
 * The sync feed keeps the cached calls current (`upsert_branch_call`, a snapshot's last page),
 * under the rule the backend lists them by (`callInScope`, shared/permissions.ts); calls handled
 * on this computer but not yet sent show as handled and pending. Handling is an outbox entry,
 * like a note.
 *
 * Important: the cache never holds a call its user may no longer see: the feed deletes a call
 * whose customer became more confidential, and the sync engine purges the calls when the user's
 * rights shrink (`mayHoldBranchCall`).
 */

export const CALLS_FOR_YOU_META = {
  seminars: 'callsForYou.seminars',
} as const;

/** Before the first pull reports the previous sign-in, the list reaches this far back. */
const SINCE_FALLBACK_DAYS = 7;
const REQUEST_TIMEOUT_MS = 10_000;

function isOffline(error: unknown): boolean {
  return error instanceof CodedError && error.code === 'offline';
}

type HandleCallEntry = Extract<OutboxEntry, { type: 'handle_call' }>;

export class CallsForYouSession {
  readonly #host: TelephonyHost;
  /** Handled marks seen waiting in the outbox, by client id. */
  readonly #queued = new Map<string, HandleCallEntry>();
  /**
   * Handled marks the backend applied whose call the feed has not brought back handled yet, by
   * call key: between the push and the pull of the same sync pass the list would otherwise show
   * the call unhandled for a moment.
   */
  readonly #sent = new Map<string, HandleCallEntry>();
  readonly #unsubscribe: () => void;

  constructor(host: TelephonyHost) {
    this.#host = host;
    this.#unsubscribe = host.engine.onDelivery((delivery) => {
      for (const result of delivery.entries) {
        const entry = this.#queued.get(result.clientId);
        if (!entry) continue;
        this.#queued.delete(result.clientId);
        if (result.outcome === 'sent') this.#sent.set(entry.callKey, entry);
      }
    });
  }

  stop(): void {
    this.#unsubscribe();
  }

  /** The rights the cache was last synced with (they may have changed since login). */
  #rights(): User {
    const saved = this.#host.store.getMeta(SYNC_META.rights);
    return (saved === null ? null : readStoredJson(saved, User)) ?? this.#host.info.user;
  }

  /** The scope's listing, checked: who lists (the rights the cache was synced with) and since when. */
  #listing(scope: CallsForYouScope, now: Date): { rights: User; since: string } {
    const { store, info } = this.#host;
    if (!mayListCallsForYou(info.user, scope)) throw new CodedError('forbidden', `scope: you may not list "${scope}" calls`);
    const since = store.getMeta(SYNC_META.callsSince) ?? new Date(now.getTime() - SINCE_FALLBACK_DAYS * 86_400_000).toISOString();
    return { rights: this.#rights(), since };
  }

  list(scope: CallsForYouScope, now = new Date()): CallsForYouView {
    const { rights, since } = this.#listing(scope, now);
    const calls = this.#host.store.listedBranchCalls(rights, scope, since, now);
    return this.#view({ scope, since, entries: calls }, this.#host.engine.status().online ? 'online' : 'cache');
  }

  /**
   * The list's counts alone (the badge, the nav, the reminder), counted in the cache's SQL: the
   * list, which grows with every call of a shift, is then neither read, sent to the window nor
   * parsed there. The same as `list(scope).counts`.
   */
  counts(scope: CallsForYouScope, now = new Date()): CallsForYouView['counts'] {
    const { rights, since } = this.#listing(scope, now);
    const { store } = this.#host;
    for (const key of store.handledBranchCallKeys(this.#sent.keys())) this.#sent.delete(key);
    const marked = new Set([...this.#pendingMarks().keys(), ...this.#sent.keys()]);
    return store.countListedBranchCalls(rights, scope, since, now, marked);
  }

  /** Handled marks waiting in the outbox, by call key (noted for `onDelivery`). */
  #pendingMarks(): Map<string, HandleCallEntry> {
    const pending = new Map<string, HandleCallEntry>();
    for (const row of this.#host.store.pendingOutbox(10_000)) {
      if (row.entry.type !== 'handle_call') continue;
      pending.set(row.entry.callKey, row.entry);
      this.#queued.set(row.clientId, row.entry);
    }
    return pending;
  }

  #view(server: { scope: CallsForYouScope; since: string; entries: readonly CallForYou[] }, source: 'online' | 'cache'): CallsForYouView {
    const { info } = this.#host;
    const pending = this.#pendingMarks();
    const entries = server.entries.map((entry) => {
      if (entry.handled !== null) this.#sent.delete(entry.key);
      const queued = pending.get(entry.key);
      const sent = this.#sent.get(entry.key);
      const mark = queued ?? sent;
      if (entry.handled !== null || !mark) return { ...entry, pending: false };
      return {
        ...entry,
        handled: { at: mark.createdAt, by: { id: info.user.id, name: info.user.displayName }, kind: mark.action.kind, contactId: null },
        pending: queued !== undefined,
      };
    });
    return { ...server, entries, counts: countCalls(entries), source };
  }

  handle(input: { callKey: string; customerId: string; incidentId: string | null; action: CallHandlingAction }): null {
    const { store, engine, info } = this.#host;
    if (!mayHandleCallsForYou(info.user)) throw new CodedError('forbidden', 'you may view calls for you but not mark them handled');
    store.addPendingChange({ type: 'handle_call', clientId: randomUUID(), ...input, createdAt: new Date().toISOString() }, {});
    engine.outboxChanged();
    return null;
  }

  callbackText(callKey: string): Promise<CallbackText> {
    return this.#host.client.request('GET', CALLS_FOR_YOU_API.callbackText.replace(':key', encodeURIComponent(callKey)), CallbackText, {
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
  }

  template(): Promise<CallbackTemplateResponse> {
    return this.#host.client.request('GET', CALLS_FOR_YOU_API.template, CallbackTemplateResponse, { timeoutMs: REQUEST_TIMEOUT_MS });
  }

  saveTemplate(input: { subject: string; body: string }): Promise<CallbackTemplateResponse> {
    return this.#host.client.request('PUT', CALLS_FOR_YOU_API.template, CallbackTemplateResponse, { body: input, timeoutMs: REQUEST_TIMEOUT_MS });
  }

  async seminars(): Promise<Seminar[]> {
    const { client, store } = this.#host;
    try {
      const response = await client.request('GET', CALLS_FOR_YOU_API.seminars, SeminarsResponse, { timeoutMs: REQUEST_TIMEOUT_MS });
      store.setMeta(CALLS_FOR_YOU_META.seminars, JSON.stringify(response));
      return response.seminars;
    } catch (error) {
      if (!isOffline(error)) throw error;
      return readStoredJson(store.getMeta(CALLS_FOR_YOU_META.seminars), SeminarsResponse)?.seminars ?? [];
    }
  }
}

/** The "calls for you" channels of the core's handler table; `session` throws when nobody is logged in. */
export function callsForYouHandlers(session: () => CallsForYouSession): Pick<IpcHandlerTable, CallsForYouIpcChannel> {
  return {
    'callsForYou:list': async (payload) => session().list(payload.scope),
    'callsForYou:counts': async (payload) => session().counts(payload.scope),
    'callsForYou:handle': async (payload) => session().handle(payload),
    'callsForYou:callbackText': (payload) => session().callbackText(payload.callKey),
    'callsForYou:template': () => session().template(),
    'callsForYou:saveTemplate': (payload) => session().saveTemplate(payload),
    'callsForYou:seminars': () => session().seminars(),
  };
}
