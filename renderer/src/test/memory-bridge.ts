import { z } from 'zod';
import {
  IPC_CHANNELS,
  type CachedContact,
  type IpcChannel,
  type IpcEvent,
  type IpcEventPayload,
  type IpcHandlerTable,
  type IpcRequest,
  type IpcResult,
  type SessionInfo,
  type SyncStatus,
  type TsunaguBridge,
} from '../../../shared/ipc.js';
import type { AuditEntry } from '../../../shared/api.js';
import type { Contact, Customer, Incident } from '../../../shared/domain.js';
import { phoneMatchingQuery, toE164 } from '../../../shared/phone.js';
import { CodedError, fail, ok, type AppError, type Result } from '../../../shared/result.js';
import { MemoryMail } from '../mail/test/memory-mail.js';
import { MemoryMonitoring } from '../supervisor/test/memory-monitoring.js';
import { MemoryCallsForYou } from './memory-calls-for-you.js';
import { MemoryPortal } from './memory-portal.js';
import { MemoryCallMe } from './memory-callme.js';
import { MemoryAdmin } from './memory-admin.js';
import { MemoryScreenSync } from './memory-screen-sync.js';
import { JP_REGIONS, type RepRoutingSettings } from '../../../shared/rep-requests.js';
import { MemoryDesk } from './memory-desk.js';
import { MemoryExchange } from './memory-exchange.js';
import { MemoryTelephony } from './memory-telephony.js';
import { MemoryRecordings } from './memory-recordings.js';
import type { ReportPage } from '../../../shared/reports.js';

/**
 * A core that lives in memory, for renderer tests only. It checks every request against the
 * shared zod schema exactly like the real core's edge, and every answer against the result
 * schema, so a component that sends a malformed payload or a fixture that drifts from the
 * contract fails the test instead of passing against a lenient fake.
 */

export interface MemoryAccount {
  tenant: string;
  login: string;
  password: string;
  session: SessionInfo;
}

export interface MemoryCustomer {
  customer: Customer;
  incidents: Incident[];
  contacts: Contact[];
}

export interface HeldCall {
  channel: IpcChannel;
  payload: unknown;
  release(): void;
}

export class MemoryBridge implements TsunaguBridge {
  /** When false, the backend is "down": login answers `offline`; the cache keeps answering. */
  online = true;
  /** Set: the backend throttles sign-in, answering rate_limited with this wait. */
  loginRetryAfterSeconds: number | null = null;
  /** When set, search counts stop here, as the cache's index does on a very common query. */
  searchCountCap: number | null = null;
  readonly calls: Array<{ channel: IpcChannel; payload: unknown }> = [];
  session: SessionInfo | null = null;
  status: SyncStatus = {
    phase: 'signed_out',
    online: true,
    lastSyncedAt: null,
    pendingOutbox: 0,
    progress: null,
    lastError: null,
    cachedCustomers: 0,
  };

  private readonly accounts: MemoryAccount[];
  private readonly customers = new Map<string, { customer: Customer; incidents: Incident[]; contacts: CachedContact[] }>();
  private readonly listeners = new Map<IpcEvent, Set<(payload: unknown) => void>>();
  private readonly holding = new Set<IpcChannel>();
  private readonly held: HeldCall[] = [];
  private readonly failing = new Map<IpcChannel, AppError>();
  private noteSeq = 0;
  /** The mail channel (renderer/src/mail/test/memory-mail.ts). */
  readonly mail = new MemoryMail(() => this.session);
  /** The telephony channels (memory-telephony.ts): credentials, settings, call events, wrap-up. */
  readonly telephony = new MemoryTelephony({
    session: () => this.session,
    customers: this.customers,
    queuedWrite: () => this.setStatus({ pendingOutbox: this.status.pendingOutbox + 1 }),
  });

  /** Incidents, customer edits and the call history (memory-desk.ts). */
  readonly desk = new MemoryDesk({
    session: () => this.session,
    customers: this.customers,
    queuedWrite: () => this.setStatus({ pendingOutbox: this.status.pendingOutbox + 1 }),
  });

  /** "Calls for you" (memory-calls-for-you.ts). */
  readonly callsForYou = new MemoryCallsForYou({
    session: () => this.session,
    queuedWrite: () => this.setStatus({ pendingOutbox: this.status.pendingOutbox + 1 }),
  });

  /** Call recordings and help requests (memory-recordings.ts). */
  readonly recordings = new MemoryRecordings({ session: () => this.session });
  /** Live monitoring (supervisor/test/memory-monitoring.ts). */
  readonly monitoring = new MemoryMonitoring({ session: () => this.session });
  /** The exchange (memory-exchange.ts). */
  readonly exchange = new MemoryExchange({ session: () => this.session });
  /** The customer portal's staff side (memory-portal.ts). */
  readonly portal = new MemoryPortal(() => this.requireSession());
  /** "Call me" offers (memory-callme.ts). */
  readonly callme = new MemoryCallMe((payload) => this.emit('callme:offer', payload));
  /** The admin console's routes (memory-admin.ts). */
  readonly admin = new MemoryAdmin(() => this.requireSession(), { mail: this.mail, telephony: this.telephony });
  /** Screen sync's operator side (memory-screen-sync.ts). */
  readonly screenSync = new MemoryScreenSync(() => this.requireSession());
  /** "Contact my rep" routing settings as admins edit them (electron/core/rep-routing.ts online). */
  repRouting: RepRoutingSettings = {
    coverage: [],
    fallbackUserId: null,
    infoManagerEmail: null,
    mailSubject: '{{customerName}}',
    mailBody: '{{message}}',
    repEmails: [],
    regions: [...JP_REGIONS],
    products: [],
    users: [],
    placeholders: [],
    updatedAt: null,
  };

  constructor(options: { accounts?: MemoryAccount[]; customers?: MemoryCustomer[] } = {}) {
    this.accounts = options.accounts ?? [];
    for (const record of options.customers ?? []) this.addCustomer(record);
  }

  /** Puts a customer into the "cache". */
  addCustomer(record: MemoryCustomer): void {
    this.customers.set(record.customer.id, {
      customer: record.customer,
      incidents: record.incidents,
      contacts: record.contacts.map((contact) => ({ ...contact, pending: false })),
    });
  }

  /** Calls on this channel wait until the test releases them, to stage out-of-order answers. */
  hold(channel: IpcChannel): void {
    this.holding.add(channel);
  }

  /** The next call on this channel fails with this error, as the core would refuse it. */
  failNext(channel: IpcChannel, error: AppError): void {
    this.failing.set(channel, error);
  }

  heldCalls(channel: IpcChannel): HeldCall[] {
    return this.held.filter((call) => call.channel === channel);
  }

  callsTo(channel: IpcChannel): unknown[] {
    return this.calls.filter((call) => call.channel === channel).map((call) => call.payload);
  }

  emit<E extends IpcEvent>(event: E, payload: IpcEventPayload<E>): void {
    for (const listener of this.listeners.get(event) ?? []) listener(payload);
  }

  setStatus(change: Partial<SyncStatus>): void {
    this.status = { ...this.status, ...change };
    this.emit('sync:status', this.status);
  }

  /** What the sync engine does once the backend takes the outbox: notes stop being pending. */
  deliverOutbox(at: string): void {
    const delivered: string[] = [];
    for (const record of this.customers.values()) {
      for (const contact of record.contacts) if (contact.pending) delivered.push(contact.id);
      record.contacts = record.contacts.map((contact) => ({ ...contact, pending: false }));
    }
    this.emit('outbox:delivered', { entries: delivered.map((clientId) => ({ clientId, type: 'add_note' as const, outcome: 'sent' as const, error: null })) });
    this.setStatus({ pendingOutbox: 0, lastSyncedAt: at, online: true, phase: 'idle' });
  }

  on<E extends IpcEvent>(event: E, listener: (payload: IpcEventPayload<E>) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const untyped = listener as (payload: unknown) => void;
    set.add(untyped);
    return () => set.delete(untyped);
  }

  async invoke<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<Result<IpcResult<C>>> {
    this.calls.push({ channel, payload });
    const contract = IPC_CHANNELS[channel];
    const request = contract.request.safeParse(payload);
    let result: Result<unknown>;
    const failure = this.failing.get(channel);
    this.failing.delete(channel);
    if (failure) {
      result = fail(failure.code, failure.message);
    } else if (!request.success) {
      const issue = request.error.issues[0];
      result = fail('invalid_input', `${issue?.path.join('.') || 'payload'}: ${issue?.message ?? 'invalid'}`);
    } else {
      try {
        const handler = this.handlers[channel] as (input: unknown) => Promise<unknown>;
        const value = await handler(request.data);
        (contract.result as z.ZodType).parse(value);
        result = ok(value);
      } catch (error) {
        if (!(error instanceof CodedError)) throw error;
        result = fail(error.code, error.message, error.retryAfterSeconds);
      }
    }
    if (this.holding.has(channel)) {
      await new Promise<void>((release) => this.held.push({ channel, payload, release }));
    }
    return result as Result<IpcResult<C>>;
  }

  private requireSession(): SessionInfo {
    if (!this.session) throw new CodedError('unauthenticated', 'not signed in');
    return this.session;
  }

  /** The audit log the viewer pages through, newest first; filtered like the backend does. */
  auditEntries: AuditEntry[] = [];
  /** Every audit query asked for, to check what the viewer sent. */
  readonly auditQueries: Array<IpcRequest<'audit:list'>> = [];

  /** Report pages by the cursor that asks for them ('' for the first). */
  reportPages: Record<string, ReportPage> = {};
  readonly reportQueries: Array<IpcRequest<'reports:page'>> = [];
  readonly reportExports: Array<IpcRequest<'reports:exportCsv'>> = [];

  #auditMatches(filter: IpcRequest<'audit:exportCsv'>): AuditEntry[] {
    return this.auditEntries.filter(
      (e) =>
        (filter.userId === undefined || e.userId === filter.userId) &&
        (filter.customerId === undefined || e.customerId === filter.customerId) &&
        (filter.action === undefined || e.action === filter.action) &&
        (filter.from === undefined || e.at >= filter.from) &&
        (filter.to === undefined || e.at < filter.to),
    );
  }

  private readonly handlers: IpcHandlerTable = {
    ...this.mail.handlers,
    'audit:list': async (query) => {
      const session = this.requireSession();
      if (session.user.role === 'agent') throw new CodedError('forbidden', 'only admins and supervisors see the audit log');
      this.auditQueries.push(query);
      const matches = this.#auditMatches(query);
      const start = query.cursor === undefined ? 0 : Number(query.cursor);
      const end = start + query.limit;
      return { entries: matches.slice(start, end), nextCursor: end < matches.length ? String(end) : null };
    },
    'audit:exportCsv': async (filter) => {
      this.requireSession();
      const rows = this.#auditMatches(filter).map((e) => `"${e.at}","${e.action}"`);
      return { filename: 'audit.csv', csv: ['"at","action"', ...rows].join('\r\n') };
    },
    'reports:page': async (query) => {
      const session = this.requireSession();
      if (session.user.role === 'agent') throw new CodedError('forbidden', 'only admins and supervisors see reports');
      this.reportQueries.push(query);
      const page = this.reportPages[query.cursor ?? ''];
      if (!page) throw new CodedError('not_found', `no report page for cursor "${query.cursor ?? ''}"`);
      return page;
    },
    'reports:exportCsv': async (query) => {
      this.requireSession();
      this.reportExports.push(query);
      return { filename: `report-${query.period}-${query.from}-${query.to}.csv`, csv: '"period_start","group_key"\r\n' };
    },
    ...this.telephony.handlers,
    ...this.desk.handlers,
    ...this.callsForYou.handlers,
    ...this.recordings.handlers,
    ...this.monitoring.handlers,
    ...this.exchange.handlers,
    ...this.portal.handlers,
    ...this.callme.handlers,
    ...this.admin.handlers,
    ...this.screenSync.handlers,
    'repRouting:get': async () => {
      if (this.requireSession().user.role !== 'admin') throw new CodedError('forbidden', 'only admins see and edit the rep routing settings');
      return this.repRouting;
    },
    'repRouting:save': async (input) => {
      if (this.requireSession().user.role !== 'admin') throw new CodedError('forbidden', 'only admins see and edit the rep routing settings');
      this.repRouting = { ...this.repRouting, ...input, updatedAt: new Date().toISOString() };
      return this.repRouting;
    },
    'system:globalShortcuts': async () => ({ global: false, registered: [] }),
    'app:info': async () => ({ version: '0.0.0-test', shell: 'browser', locale: 'en-US', backendUrl: 'http://127.0.0.1:1' }),
    'session:login': async ({ tenant, login, password }) => {
      if (!this.online) throw new CodedError('offline', 'backend unreachable');
      if (this.loginRetryAfterSeconds !== null) {
        throw new CodedError('rate_limited', `too many failed sign-ins; try again in ${this.loginRetryAfterSeconds} s`, this.loginRetryAfterSeconds);
      }
      const account = this.accounts.find((a) => a.tenant === tenant && a.login === login && a.password === password);
      if (!account) throw new CodedError('unauthenticated', 'wrong tenant, login or password');
      this.session = account.session;
      this.status = { ...this.status, phase: 'idle', online: true, cachedCustomers: this.customers.size };
      return account.session;
    },
    'session:logout': async () => {
      this.session = null;
      return null;
    },
    'session:current': async () => this.session,
    'sync:status': async () => this.status,
    'sync:now': async () => this.status,
    'customers:search': async ({ query, limit, offset }) => {
      this.requireSession();
      const needle = query.trim().toLowerCase();
      const digits = needle.replace(/\D/g, '');
      const e164 = toE164(query);
      const customers = [...this.customers.values()]
        .map((record) => record.customer)
        .filter((c) => {
          if (needle === '') return false;
          const text = [c.name, c.nameKana, c.code, ...c.emails, c.address].join('\n').toLowerCase();
          if (text.includes(needle)) return true;
          if (e164 && c.phones.some((p) => p.e164 === e164)) return true;
          return digits.length >= 4 && c.phones.some((p) => p.e164.includes(digits));
        })
      const start = offset ?? 0;
      const page = customers.slice(start, start + (limit ?? 30)).map((c) => ({
          id: c.id,
          code: c.code,
          name: c.name,
          nameKana: c.nameKana,
          phones: c.phones,
          emails: c.emails,
          address: c.address,
          classification: c.classification,
          type: c.type,
          branch: c.branch,
          matchedPhone: phoneMatchingQuery(c.phones, query)?.e164 ?? null,
        }));
      // Like the cache's index, counting stops at a cap: beyond it the count is a lower bound.
      const counted = this.searchCountCap === null ? customers.length : Math.min(customers.length, this.searchCountCap);
      return { customers: page, source: 'cache' as const, total: counted, totalExact: counted === customers.length };
    },
    'customers:get': async ({ customerId }) => {
      this.requireSession();
      const record = this.customers.get(customerId);
      if (!record) throw new CodedError('not_found', `customer ${customerId} is not in the cache`);
      return { customer: record.customer, incidents: record.incidents, contacts: record.contacts, source: 'cache' as const };
    },
    'customers:lookupCaller': async ({ phone, customerId }) => {
      this.requireSession();
      const e164 = phone ? toE164(phone) : null;
      const record =
        (customerId ? this.customers.get(customerId) : undefined) ??
        [...this.customers.values()].find((r) => e164 !== null && r.customer.phones.some((p) => p.e164 === e164));
      return record ? { ...record, source: 'cache' as const } : null;
    },
    'notes:add': async ({ incidentId, body }) => {
      const session = this.requireSession();
      const record = [...this.customers.values()].find((r) => r.incidents.some((i) => i.id === incidentId));
      if (!record) throw new CodedError('not_found', `incident ${incidentId} is not in the cache`);
      this.noteSeq += 1;
      const contact: CachedContact = {
        id: `00000000-0000-4000-8000-${String(this.noteSeq).padStart(12, '0')}`,
        incidentId,
        customerId: record.customer.id,
        kind: 'note',
        direction: 'internal',
        occurredAt: new Date().toISOString(),
        agentId: session.user.id,
        agentName: session.user.displayName,
        summary: body.split('\n', 1)[0]?.slice(0, 500) ?? '',
        body,
        callMeta: null,
        pending: true,
      };
      record.contacts = [...record.contacts, contact];
      this.setStatus({ pendingOutbox: this.status.pendingOutbox + 1 });
      return contact;
    },
  };
}
