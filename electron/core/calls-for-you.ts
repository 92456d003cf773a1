import { randomUUID } from 'node:crypto';
import {
  CALLS_FOR_YOU_API,
  CALLS_FOR_YOU_SCOPES,
  CallbackTemplateResponse,
  CallbackText,
  CallsForYouResponse,
  SeminarsResponse,
  type CallHandlingAction,
  type Seminar,
} from '../../shared/calls-for-you.js';
import { User, type UserRights } from '../../shared/domain.js';
import type { CallsForYouIpcChannel, CallsForYouView, IpcHandlerTable } from '../../shared/ipc.js';
import {
  mayCreateCustomer,
  mayHandleCallsForYou,
  mayListCallsForYou,
  maySeeCallFrom,
  type CallsForYouScope,
} from '../../shared/permissions.js';
import { CodedError } from '../../shared/result.js';
import { META as SYNC_META } from './sync/snapshot.js';
import type { Logger } from './logger.js';
import type { TelephonyHost } from './telephony.js';
import { readStoredJson } from './cache/stored-json.js';

/**
 * "Calls for you" in the core: the list online from the backend, offline from the last copy
 * of each scope (in the user's encrypted cache), with calls handled on this computer but not
 * yet sent shown as handled and pending. Handling is an outbox entry, like a note.
 *
 * Important: the copies follow the cache's rule that it never holds what its user may no
 * longer read. After every sync pass (which purges customers when rights shrink or a
 * customer's classification rises) each copy keeps only the calls of customers still in the
 * cache and readable under the current rights, and a scope the user lost goes entirely.
 */

export const CALLS_FOR_YOU_META = {
  list: (scope: CallsForYouScope) => `callsForYou.list.${scope}`,
  seminars: 'callsForYou.seminars',
} as const;

const LIST_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;

function isOffline(error: unknown): boolean {
  return error instanceof CodedError && error.code === 'offline';
}

export class CallsForYouSession {
  readonly #host: TelephonyHost;

  readonly #logger: Logger;
  readonly #unsubscribe: () => void;
  /** The sign-in's copy of every scope, while it runs (a list waits for it: one request at a time). */
  #prefetching: Promise<void> | null = null;

  constructor(host: TelephonyHost, logger: Logger) {
    this.#host = host;
    this.#logger = logger;
    this.#unsubscribe = host.engine.onStatus((status) => {
      if (status.phase !== 'idle') return;
      this.#pruneCopies();
      if (status.online && this.#prefetching === null) this.#prefetching = this.#prefetch();
    });
  }

  /** Once per sign-in, every scope the user may list, so each works offline from the start. */
  async #prefetch(): Promise<void> {
    for (const scope of CALLS_FOR_YOU_SCOPES) {
      if (!mayListCallsForYou(this.#rights(), scope)) continue;
      try {
        const copy = await this.#host.client.request('GET', `${CALLS_FOR_YOU_API.list}?scope=${scope}`, CallsForYouResponse, { timeoutMs: LIST_TIMEOUT_MS });
        this.#host.store.setMeta(CALLS_FOR_YOU_META.list(scope), JSON.stringify(copy));
      } catch (error) {
        this.#logger.warn('could not copy calls for you for offline use', { scope, code: error instanceof CodedError ? error.code : 'internal' });
        return;
      }
    }
  }

  stop(): void {
    this.#unsubscribe();
  }

  /** The rights the cache was last synced with (they may have changed since login). */
  #rights(): UserRights {
    const saved = this.#host.store.getMeta(SYNC_META.rights);
    return (saved === null ? null : readStoredJson(saved, User)) ?? this.#host.info.user;
  }

  #pruneCopies(): void {
    const { store } = this.#host;
    const rights = this.#rights();
    for (const scope of CALLS_FOR_YOU_SCOPES) {
      const key = CALLS_FOR_YOU_META.list(scope);
      const copy = readStoredJson(store.getMeta(key), CallsForYouResponse);
      if (copy === null) continue;
      if (!mayListCallsForYou(rights, scope)) {
        store.deleteMeta(key);
        continue;
      }
      const entries = copy.entries.filter((entry) => {
        if (entry.customer === null) return mayCreateCustomer(rights);
        const cached = store.getDetail(entry.customer.id);
        return cached !== null && maySeeCallFrom(rights, cached.customer);
      });
      if (entries.length === copy.entries.length) continue;
      const unhandled = entries.filter((entry) => entry.handled === null).length;
      store.setMeta(key, JSON.stringify({ ...copy, entries, counts: { handled: entries.length - unhandled, unhandled } }));
    }
  }

  async list(scope: CallsForYouScope): Promise<CallsForYouView> {
    await this.#prefetching;
    const { client, store, engine, info } = this.#host;
    if (!mayListCallsForYou(info.user, scope)) throw new CodedError('forbidden', `scope: you may not list "${scope}" calls`);
    let server: CallsForYouResponse | null = null;
    let source: 'online' | 'cache' = 'cache';
    if (engine.status().online) {
      try {
        server = await client.request('GET', `${CALLS_FOR_YOU_API.list}?scope=${scope}`, CallsForYouResponse, { timeoutMs: LIST_TIMEOUT_MS });
        store.setMeta(CALLS_FOR_YOU_META.list(scope), JSON.stringify(server));
        source = 'online';
      } catch (error) {
        if (!isOffline(error)) throw error;
      }
    }
    if (server === null) this.#pruneCopies();
    server ??= readStoredJson(store.getMeta(CALLS_FOR_YOU_META.list(scope)), CallsForYouResponse) ?? {
      scope,
      since: new Date().toISOString(),
      entries: [],
      counts: { handled: 0, unhandled: 0 },
    };
    return this.#view(server, source);
  }

  #view(server: CallsForYouResponse, source: 'online' | 'cache'): CallsForYouView {
    const { store, info } = this.#host;
    const pending = new Map(
      store.pendingOutbox(10_000).flatMap((row) => (row.entry.type === 'handle_call' ? [[row.entry.callKey, row.entry] as const] : [])),
    );
    const entries = server.entries.map((entry) => {
      const queued = pending.get(entry.key);
      if (entry.handled !== null || !queued) return { ...entry, pending: false };
      return {
        ...entry,
        handled: { at: queued.createdAt, by: { id: info.user.id, name: info.user.displayName }, kind: queued.action.kind, contactId: null },
        pending: true,
      };
    });
    const unhandled = entries.filter((entry) => entry.handled === null).length;
    return { ...server, entries, counts: { handled: entries.length - unhandled, unhandled }, source };
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
    'callsForYou:list': (payload) => session().list(payload.scope),
    'callsForYou:handle': async (payload) => session().handle(payload),
    'callsForYou:callbackText': (payload) => session().callbackText(payload.callKey),
    'callsForYou:template': () => session().template(),
    'callsForYou:saveTemplate': (payload) => session().saveTemplate(payload),
    'callsForYou:seminars': () => session().seminars(),
  };
}
