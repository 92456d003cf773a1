import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  API,
  Assignee,
  AssigneesResponse,
  CallbackListResponse,
  CallHistoryQuery,
  CallHistoryResponse,
  CustomerResponse,
  type CallOutcome,
  type CustomerUpdate,
  type OutboxEntry,
} from '../../shared/api.js';
import type { Contact, Incident } from '../../shared/domain.js';
import {
  CallEventInput,
  type CachedContact,
  type CallbackListView,
  type CallHistoryView,
  type CustomerDetail,
  type DeskIpcChannel,
  type IpcHandlerTable,
} from '../../shared/ipc.js';
import { mayEditIncidents } from '../../shared/permissions.js';
import { CodedError } from '../../shared/result.js';
import type { Logger } from './logger.js';
import type { TelephonyHost } from './telephony.js';
import { LocalCalls, type LocalCall } from './cache/local-calls.js';
import { readStoredJson } from './cache/stored-json.js';

/**
 * The operator's desk beyond notes and wrap-ups: managing incidents (through the outbox, so it
 * works offline like a note), editing a customer (online), and the call history with its
 * missed-call badge and callbacks (online from the backend, offline from the last copy plus
 * the calls this computer saw since).
 */

/** Cache meta keys (the cache is per user). */
export const DESK_META = {
  history: 'desk.callHistory',
  callbacks: 'desk.callbackList',
  seenAt: 'desk.historySeenAt',
  assignees: 'desk.assignees',
  repaired: 'desk.repairedRejections',
} as const;

const HISTORY_TIMEOUT_MS = 5_000;
/** How many calls the backend's call history gives when asked without a limit (its default). */
const SERVER_HISTORY_PAGE = CallHistoryQuery.parse({}).limit;
const REQUEST_TIMEOUT_MS = 10_000;
/** Calls seen on this computer are kept this long, enough to bridge any offline period. */
const LOCAL_CALLS_KEPT_DAYS = 30;
const MAX_LOCAL_CALLS = 1_000;
/**
 * The history shows at most this many calls of this computer's besides the backend's page (the
 * ones the page does not have: offline, or not yet confirmed), the newest: as many as the page.
 */
const LOCAL_CALLS_SHOWN = SERVER_HISTORY_PAGE;

type CallEvent = z.infer<typeof CallEventInput>;

type HistoryCall = CallHistoryView['calls'][number];

function outcomeOf(call: LocalCall): CallOutcome {
  if (call.answeredAt !== null) return 'answered';
  if (call.last === 'ringing') return 'ringing';
  if (call.direction === 'outbound') return 'no_answer';
  return call.last === 'rejected' ? 'declined' : 'missed';
}

export class DeskSession {
  readonly #host: TelephonyHost;
  readonly #logger: Logger;
  readonly #unsubscribe: () => void;
  #repairing = false;
  readonly #localCalls: LocalCalls;
  /** Whether this session has had the backend's call history yet (the counts ask for it once). */
  #historyFetched = false;
  /**
   * The backend's history as last stored, with the stored text it was parsed from: the badge's
   * count after each missed call reads it without parsing 200 calls again. Important: kept only
   * while the stored text is the same, so whatever else writes the key (a wipe) is read afresh.
   */
  #storedHistory: { raw: string; history: CallHistoryResponse } | null = null;

  constructor(host: TelephonyHost, logger: Logger) {
    this.#host = host;
    this.#logger = logger;
    this.#localCalls = new LocalCalls(host.store.db);
    // A refused incident change leaves its optimistic copy in the cache: fetch the truth.
    this.#unsubscribe = host.engine.onStatus((status) => {
      if (status.online && status.phase === 'idle') void this.#repairRejected();
    });
  }

  stop(): void {
    this.#unsubscribe();
  }

  // ---- incidents ----------------------------------------------------------------------------

  #editableIncident(incidentId: string): Incident {
    const { store, info } = this.#host;
    const incident = store.getIncident(incidentId);
    if (!incident) throw new CodedError('not_found', 'incidentId: no such incident in the local cache');
    const detail = store.getDetail(incident.customerId);
    if (!detail || !mayEditIncidents(info.user, detail.customer)) {
      throw new CodedError('forbidden', 'incidentId: you may not change incidents of this customer');
    }
    return incident;
  }

  #assigneeName(customerId: string, assigneeId: string | null): string | null {
    if (assigneeId === null) return null;
    if (assigneeId === this.#host.info.user.id) return this.#host.info.user.displayName;
    return this.#cachedAssignees(customerId)?.find((user) => user.id === assigneeId)?.displayName ?? null;
  }

  #queue(entry: OutboxEntry, effect: { incident?: Incident; contact?: Contact }): void {
    this.#host.store.addPendingChange(entry, effect);
    this.#host.engine.outboxChanged();
  }

  createIncident(input: { customerId: string; title: string; assigneeId: string | null }): Incident {
    const { store, info } = this.#host;
    const detail = store.getDetail(input.customerId);
    if (!detail) throw new CodedError('not_found', 'customerId: this customer is not in the local cache');
    if (!mayEditIncidents(info.user, detail.customer)) throw new CodedError('forbidden', 'customerId: you may not open incidents for this customer');
    const clientId = randomUUID();
    const createdAt = new Date().toISOString();
    const incident: Incident = {
      id: clientId,
      customerId: input.customerId,
      title: input.title,
      status: 'open',
      assigneeId: input.assigneeId,
      assigneeName: this.#assigneeName(input.customerId, input.assigneeId),
      openedAt: createdAt,
      closedAt: null,
      updatedAt: createdAt,
    };
    this.#queue({ type: 'create_incident', clientId, customerId: input.customerId, title: input.title, assigneeId: input.assigneeId, createdAt }, { incident });
    return incident;
  }

  updateIncident(input: { incidentId: string; title?: string; status?: 'open' | 'closed'; assigneeId?: string | null }): Incident {
    const before = this.#editableIncident(input.incidentId);
    const createdAt = new Date().toISOString();
    const after: Incident = {
      ...before,
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.status !== undefined ? { status: input.status, closedAt: input.status === 'closed' ? createdAt : null } : {}),
      ...(input.assigneeId !== undefined
        ? { assigneeId: input.assigneeId, assigneeName: this.#assigneeName(before.customerId, input.assigneeId) }
        : {}),
      updatedAt: createdAt,
    };
    this.#queue(
      {
        type: 'update_incident',
        clientId: randomUUID(),
        incidentId: input.incidentId,
        ...(input.title !== undefined ? { title: input.title } : {}),
        ...(input.status !== undefined ? { status: input.status } : {}),
        ...(input.assigneeId !== undefined ? { assigneeId: input.assigneeId } : {}),
        createdAt,
      },
      { incident: after },
    );
    return after;
  }

  moveContact(input: { contactId: string; incidentId: string }): CachedContact {
    const { store } = this.#host;
    const contact = store.getContact(input.contactId);
    if (!contact) throw new CodedError('not_found', 'contactId: no such contact in the local cache');
    // Its id is still the outbox clientId: the backend does not know it under that id yet.
    if (contact.pending) throw new CodedError('conflict', 'contactId: this contact is still waiting to be sent; move it once it has been');
    const target = this.#editableIncident(input.incidentId);
    this.#editableIncident(contact.incidentId);
    if (target.customerId !== contact.customerId) {
      throw new CodedError('invalid_input', 'incidentId: a contact moves only between incidents of its own customer');
    }
    const moved: CachedContact = { ...contact, incidentId: target.id };
    if (target.id === contact.incidentId) return moved;
    const { pending: _pending, ...plain } = moved;
    this.#queue({ type: 'move_contact', clientId: randomUUID(), contactId: contact.id, incidentId: target.id, createdAt: new Date().toISOString() }, { contact: plain });
    return moved;
  }

  async assignees(customerId: string): Promise<Assignee[]> {
    const { client, store, info } = this.#host;
    try {
      const { users } = await client.request('GET', API.customerAssignees.replace(':id', encodeURIComponent(customerId)), AssigneesResponse, {
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      const all = readStoredJson(store.getMeta(DESK_META.assignees), z.record(z.string(), z.array(Assignee))) ?? {};
      all[customerId] = users;
      store.setMeta(DESK_META.assignees, JSON.stringify(all));
      return users;
    } catch (error) {
      if (!(error instanceof CodedError && error.code === 'offline')) throw error;
      const { role } = info.user;
      return this.#cachedAssignees(customerId) ?? (role === 'partner' ? [] : [{ id: info.user.id, displayName: info.user.displayName, role }]);
    }
  }

  #cachedAssignees(customerId: string): Assignee[] | null {
    const all = readStoredJson(this.#host.store.getMeta(DESK_META.assignees), z.record(z.string(), z.array(Assignee)));
    return all?.[customerId] ?? null;
  }

  /** Online only: the backend checks the customer number is unique and normalises phones. */
  async updateCustomer(customerId: string, changes: CustomerUpdate): Promise<CustomerDetail> {
    const { client, store } = this.#host;
    const { customer } = await client.request('PATCH', API.customer.replace(':id', encodeURIComponent(customerId)), CustomerResponse, {
      body: changes,
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    const cached = store.getDetail(customerId);
    store.upsertRecords([{ customer, incidents: cached?.incidents ?? [], contacts: [] }]);
    const detail = store.getDetail(customerId);
    return detail ? { ...detail, source: 'cache' } : { customer, incidents: [], contacts: [], source: 'online' };
  }

  /**
   * Refused incident changes (a right lost meanwhile, a colleague's conflicting change) left
   * their optimistic copy in the cache; the backend's record of those customers replaces it.
   */
  async #repairRejected(): Promise<void> {
    if (this.#repairing) return;
    const { store, client } = this.#host;
    const repaired = new Set(readStoredJson(store.getMeta(DESK_META.repaired), z.array(z.string())) ?? []);
    const todo = store.rejectedOutbox().filter((row) => !repaired.has(row.clientId) && isIncidentChange(row.entry));
    if (todo.length === 0) return;
    this.#repairing = true;
    try {
      for (const row of todo) {
        const customerId = this.#customerOf(row.entry);
        if (customerId !== null) {
          try {
            store.upsertRecords([await client.customer(customerId, { timeoutMs: REQUEST_TIMEOUT_MS })]);
          } catch (error) {
            if (error instanceof CodedError && error.code === 'offline') return;
            this.#logger.warn('could not refresh a customer after a refused change', { code: error instanceof CodedError ? error.code : 'internal' });
          }
        }
        repaired.add(row.clientId);
        store.setMeta(DESK_META.repaired, JSON.stringify([...repaired].slice(-500)));
      }
    } finally {
      this.#repairing = false;
    }
  }

  #customerOf(entry: OutboxEntry): string | null {
    const { store } = this.#host;
    switch (entry.type) {
      case 'create_incident':
        return entry.customerId;
      case 'update_incident':
        return store.getIncident(entry.incidentId)?.customerId ?? null;
      case 'move_contact':
        return store.getContact(entry.contactId)?.customerId ?? null;
      default:
        return null;
    }
  }

  // ---- call history -------------------------------------------------------------------------

  /**
   * Every call event the renderer reports passes here too, so offline calls are in the history:
   * one row written (and the oldest beyond the limits pruned), whatever the number of calls kept.
   */
  noteCallEvent(event: CallEvent): void {
    const keptSince = new Date(Date.now() - LOCAL_CALLS_KEPT_DAYS * 86_400_000).toISOString();
    this.#localCalls.note(event, { keptSince, max: MAX_LOCAL_CALLS });
  }

  /** The call history: the backend's page (online; its last copy offline) with this computer's calls. */
  async history(): Promise<CallHistoryView> {
    const { client, store, engine } = this.#host;
    let server: CallHistoryResponse | null = null;
    let source: 'online' | 'cache' = 'cache';
    if (engine.status().online) {
      try {
        server = await client.request('GET', API.callHistory, CallHistoryResponse, { timeoutMs: HISTORY_TIMEOUT_MS });
        store.setMeta(DESK_META.history, JSON.stringify(server));
        this.#historyFetched = true;
        source = 'online';
      } catch (error) {
        if (!(error instanceof CodedError && error.code === 'offline')) throw error;
      }
    }
    return this.#view(server ?? this.#lastHistory(), source);
  }

  /**
   * The missed-call badge without the list: from the backend's history as last fetched (once per
   * session, the first time) and the calls this computer saw since. The renderer asks for it
   * after every missed call while the history is not on screen; fetching the list from the
   * backend each time cost the core more with every call (bench:memory, issue 13 item 7).
   */
  async historyCounts(): Promise<{ missedUnseen: number }> {
    if (!this.#historyFetched && this.#host.engine.status().online) return { missedUnseen: (await this.history()).missedUnseen };
    const seenAt = this.#host.store.getMeta(DESK_META.seenAt);
    return { missedUnseen: missedUnseen(this.#calls(this.#lastHistory(), seenAt ?? '', { names: false }), seenAt) };
  }

  #lastHistory(): CallHistoryResponse {
    const raw = this.#host.store.getMeta(DESK_META.history);
    if (raw === null) return { calls: [], callbacks: [] };
    if (this.#storedHistory?.raw !== raw) this.#storedHistory = { raw, history: readStoredJson(raw, CallHistoryResponse) ?? { calls: [], callbacks: [] } };
    return this.#storedHistory.history;
  }

  /**
   * The callback worklist: the backend's (online) or its last copy, with what the outbox holds
   * already applied: callbacks flagged by wrap-ups not yet pushed are on it, ones marked done
   * are off it.
   */
  async callbackList(): Promise<CallbackListView> {
    const { client, store, engine } = this.#host;
    let server: CallbackListResponse | null = null;
    let source: 'online' | 'cache' = 'cache';
    if (engine.status().online) {
      try {
        server = await client.request('GET', API.callbacks, CallbackListResponse, { timeoutMs: HISTORY_TIMEOUT_MS });
        store.setMeta(DESK_META.callbacks, JSON.stringify(server));
        source = 'online';
      } catch (error) {
        if (!(error instanceof CodedError && error.code === 'offline')) throw error;
      }
    }
    server ??= readStoredJson(store.getMeta(DESK_META.callbacks), CallbackListResponse) ?? { mine: [], teamOverdue: [], now: new Date().toISOString() };
    const pending = store.pendingOutbox(10_000).map((row) => row.entry);
    const markedDone = new Set(pending.flatMap((entry) => (entry.type === 'complete_callback' ? [entry.callbackId] : [])));
    const now = new Date().toISOString();
    const known = new Set(server.mine.map((task) => task.id));
    const { user } = this.#host.info;
    const mine: CallbackListView['mine'] = server.mine.filter((task) => !markedDone.has(task.id)).map((task) => ({ ...task, pending: false }));
    for (const entry of pending) {
      if (entry.type !== 'log_call' || !entry.callMeta.callbackNeeded || known.has(entry.clientId) || markedDone.has(entry.clientId)) continue;
      const inbound = entry.direction === 'inbound';
      const dueAt = entry.callMeta.callbackDueAt ? new Date(entry.callMeta.callbackDueAt).toISOString() : entry.createdAt;
      mine.push({
        id: entry.clientId,
        customerId: entry.customerId,
        customerName: store.getDetail(entry.customerId)?.customer.name ?? '',
        callId: entry.callMeta.callId ?? null,
        contactId: null,
        remote: (inbound ? entry.callMeta.from : entry.callMeta.to) ?? '',
        flaggedBy: user.id,
        flaggedByName: user.displayName,
        flaggedAt: entry.createdAt,
        dueAt,
        doneAt: null,
        doneReason: null,
        overdue: dueAt < now,
        pending: true,
      });
    }
    mine.sort((a, b) => (a.dueAt ?? a.flaggedAt).localeCompare(b.dueAt ?? b.flaggedAt));
    return { mine, teamOverdue: server.teamOverdue.filter((task) => !markedDone.has(task.id)), source };
  }

  markHistorySeen(): Promise<CallHistoryView> {
    this.#host.store.setMeta(DESK_META.seenAt, new Date().toISOString());
    return this.history();
  }

  completeCallback(callbackId: string): null {
    this.#queue({ type: 'complete_callback', clientId: randomUUID(), callbackId, createdAt: new Date().toISOString() }, {});
    return null;
  }

  /**
   * The backend's calls merged with the calls this computer saw, newest first; only those that
   * started at or after `since` (ISO time; '' for all). With `names` false the local calls get
   * no customer name (a count needs none): each name is a read of the customer's detail, which
   * cost the badge's count more than all the rest (bench:memory with BENCH_PROFILE=1).
   */
  #calls(server: CallHistoryResponse, since: string, { names: withNames }: { names: boolean }): HistoryCall[] {
    const { store } = this.#host;
    // Once per customer, not twice per call: a view holds up to LOCAL_CALLS_SHOWN local calls.
    const names = new Map<string, string | null>();
    const nameOf = (customerId: string | null): string | null => {
      if (customerId === null || !withNames) return null;
      if (!names.has(customerId)) names.set(customerId, store.getDetail(customerId)?.customer.name ?? null);
      return names.get(customerId) ?? null;
    };
    const serverCalls = since === '' ? server.calls : server.calls.filter((call) => call.startedAt >= since);
    // The backend may hold a call's ringing but not yet its end (its events are still on their
    // way): what this computer saw end is ended.
    const ringing = serverCalls.filter((call) => call.outcome === 'ringing').map((call) => call.callId);
    const endedHere = new Map(this.#localCalls.byIds(ringing).filter((call) => call.endedAt !== null).map((call) => [call.callId, call]));
    const fromServer: HistoryCall[] = serverCalls.map((call) => {
      const here = endedHere.get(call.callId);
      return call.outcome === 'ringing' && here
        ? { ...call, outcome: outcomeOf(here), answeredAt: here.answeredAt, endedAt: here.endedAt, local: true }
        : { ...call, local: false };
    });
    // A full page from the backend ends at its oldest call: calls this computer saw before that
    // are beyond the page (the backend has them, or they are older than what the list shows),
    // not calls the backend is missing. Listing them as local grew the view with every call
    // after the first page and said "not yet on the server" of calls it had.
    const pageFull = server.calls.length >= SERVER_HISTORY_PAGE;
    const pageStart = pageFull ? server.calls.reduce((oldest, call) => (call.startedAt < oldest ? call.startedAt : oldest), server.calls[0]!.startedAt) : '';
    const local: HistoryCall[] = this.#localCalls
      .newest(LOCAL_CALLS_SHOWN, { since: pageStart > since ? pageStart : since, except: server.calls.map((call) => call.callId) })
      .map((call) => ({
        callId: call.callId,
        direction: call.direction,
        outcome: outcomeOf(call),
        remote: call.remote,
        // A customer this cache does not hold (any more) is not linked.
        customerId: withNames && nameOf(call.customerId) === null ? null : call.customerId,
        customerName: nameOf(call.customerId),
        startedAt: call.startedAt,
        answeredAt: call.answeredAt,
        endedAt: call.endedAt,
        local: true,
      }));
    return [...fromServer, ...local].sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  }

  #view(server: CallHistoryResponse, source: 'online' | 'cache'): CallHistoryView {
    const { store } = this.#host;
    const calls = this.#calls(server, '', { names: true });

    // What waits in the outbox is already true for the operator: callbacks asked for or marked done.
    const pending = store.pendingOutbox(10_000).map((row) => row.entry);
    const markedDone = new Map(pending.flatMap((entry) => (entry.type === 'complete_callback' ? [[entry.callbackId, entry.createdAt] as const] : [])));
    const callbacks: CallHistoryView['callbacks'] = server.callbacks.map((callback) => {
      const doneAt = markedDone.get(callback.id);
      return doneAt !== undefined && callback.doneAt === null
        ? { ...callback, doneAt, doneReason: 'marked' as const, pending: true }
        : { ...callback, pending: false };
    });
    const serverIds = new Set(server.callbacks.map((callback) => callback.id));
    for (const entry of pending) {
      if (entry.type !== 'log_call' || !entry.callMeta.callbackNeeded || serverIds.has(entry.clientId)) continue;
      const inbound = entry.direction === 'inbound';
      callbacks.unshift({
        id: entry.clientId,
        customerId: entry.customerId,
        customerName: store.getDetail(entry.customerId)?.customer.name ?? '',
        callId: entry.callMeta.callId ?? null,
        contactId: null,
        remote: (inbound ? entry.callMeta.from : entry.callMeta.to) ?? '',
        flaggedBy: this.#host.info.user.id,
        flaggedAt: entry.createdAt,
        dueAt: null,
        doneAt: markedDone.get(entry.clientId) ?? null,
        doneReason: markedDone.has(entry.clientId) ? 'marked' : null,
        pending: true,
      });
    }

    const seenAt = store.getMeta(DESK_META.seenAt);
    return { calls, callbacks, missedUnseen: missedUnseen(calls, seenAt), seenAt, source };
  }
}

/** The missed calls among `calls` that started after the history was last seen. */
function missedUnseen(calls: readonly HistoryCall[], seenAt: string | null): number {
  return calls.filter((call) => call.outcome === 'missed' && (seenAt === null || call.startedAt > seenAt)).length;
}

function isIncidentChange(entry: OutboxEntry): boolean {
  return entry.type === 'create_incident' || entry.type === 'update_incident' || entry.type === 'move_contact';
}

/** The desk's channels of the core's handler table; `session` throws when nobody is logged in. */
export function deskHandlers(session: () => DeskSession): Pick<IpcHandlerTable, DeskIpcChannel> {
  return {
    'incidents:create': async (payload) => session().createIncident(payload),
    'incidents:update': async (payload) => session().updateIncident(payload),
    'contacts:move': async (payload) => session().moveContact(payload),
    'customers:assignees': (payload) => session().assignees(payload.customerId),
    'customers:update': (payload) => session().updateCustomer(payload.customerId, payload.changes),
    'calls:history': () => session().history(),
    'calls:historySeen': () => session().markHistorySeen(),
    'calls:historyCounts': () => session().historyCounts(),
    'callbacks:list': () => session().callbackList(),
    'callbacks:complete': async (payload) => session().completeCallback(payload.callbackId),
  };
}
