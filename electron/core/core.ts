import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js';
import type { CustomerRecord, CustomerSummary, MeResponse, OutboxEntry } from '../../shared/api.js';
import type { Contact } from '../../shared/domain.js';
import type {
  CustomerDetail,
  IpcEvent,
  IpcEventPayload,
  IpcHandlerTable,
  SearchResult,
  SessionInfo,
  SyncStatus,
} from '../../shared/ipc.js';
import { DEFAULT_REGION, phoneMatchingQuery, toE164 } from '../../shared/phone.js';
import { CodedError } from '../../shared/result.js';
import { normaliseForSearch } from '../../shared/search-text.js';
import { BackendClient } from './backend-client.js';
import { CacheStore, DEFAULT_SEARCH_LIMIT } from './cache/cache-store.js';
import { openCache, type CacheDb } from './cache/open-cache.js';
import { createIpcDispatcher, type IpcDispatcher } from './handlers.js';
import { MailChannel, type MailTuning } from './mail.js';
import type { Logger } from './logger.js';
import { defaultSnapshotWorkerFile } from './sync/snapshot-runner.js';
import { SyncEngine, type SyncTuning } from './sync/sync-engine.js';
import { telephonyHandlers, TelephonySession, type TelephonyTuning } from './telephony.js';
import type { TokenStore } from './token-store.js';

export interface CoreOptions {
  /** Per-user caches live under `<dataDir>/<tenantId>/<userId>/cache.db`. */
  dataDir: string;
  backendUrl: string;
  tokenStore: TokenStore;
  logger: Logger;
  app?: { version?: string; shell?: 'electron' | 'browser'; locale?: string };
  /** The snapshot worker's entry file; required when the core is bundled (see snapshot-runner.ts). */
  snapshotWorkerFile?: string;
  syncTuning?: Partial<SyncTuning>;
  telephonyTuning?: Partial<TelephonyTuning>;
  mailTuning?: Partial<MailTuning>;
}

export type CoreEventListener = (
  ...args: { [E in IpcEvent]: [event: E, payload: IpcEventPayload<E>] }[IpcEvent]
) => void;

export interface Core {
  handlers: IpcHandlerTable;
  /** The handler table behind validation and error mapping: what the shells call. */
  invoke: IpcDispatcher;
  onEvent(listener: CoreEventListener): () => void;
  /** Stops syncing and closes the cache; the stored token stays so the next start restores the session. */
  dispose(): Promise<void>;
}

/** The screen pop cannot wait long for the backend when the cache has no match. */
const ONLINE_FALLBACK_TIMEOUT_MS = 3_000;
const SESSION_CHECK_TIMEOUT_MS = 5_000;
const NOTE_SUMMARY_LENGTH = 120;
/** The backend's search answers at most this many customers (SearchQuery's limit). */
const MAX_ONLINE_SEARCH = 100;

interface ActiveSession {
  info: SessionInfo;
  client: BackendClient;
  db: CacheDb;
  store: CacheStore;
  engine: SyncEngine;
  region: CountryCode;
  telephony: TelephonySession;
}

/** Who was logged in, so that a restart without the backend can still open that user's cache. */
interface LastSession {
  user: SessionInfo['user'];
  tenant: SessionInfo['tenant'];
}

export function signedOutStatus(): SyncStatus {
  return {
    phase: 'signed_out',
    online: false,
    lastSyncedAt: null,
    pendingOutbox: 0,
    progress: null,
    lastError: null,
    cachedCustomers: 0,
  };
}

/** The desktop core: session, local cache, sync and the IPC handler table both shells serve. */
export function createCore(options: CoreOptions): Core {
  return new DesktopCore(options).toCore();
}

class DesktopCore {
  readonly #o: CoreOptions;
  readonly #listeners = new Set<CoreEventListener>();
  #session: ActiveSession | null = null;
  #sessionQueue: Promise<unknown> = Promise.resolve();
  #disposed = false;
  readonly #mail: MailChannel;

  constructor(options: CoreOptions) {
    this.#o = options;
    this.#mail = new MailChannel({ logger: options.logger, emit: (...args) => this.#emit(...args), tuning: options.mailTuning });
  }

  toCore(): Core {
    const handlers = this.#handlers();
    return {
      handlers,
      invoke: createIpcDispatcher(handlers, this.#o.logger),
      onEvent: (listener) => {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
      },
      dispose: () => this.#dispose(),
    };
  }

  #handlers(): IpcHandlerTable {
    return {
      'app:info': async () => ({
        version: this.#o.app?.version ?? 'dev',
        shell: this.#o.app?.shell ?? 'browser',
        locale: this.#o.app?.locale ?? Intl.DateTimeFormat().resolvedOptions().locale,
        backendUrl: this.#o.backendUrl,
      }),
      // The browser shell has no global shortcuts; electron/main.ts answers this channel itself.
      'system:globalShortcuts': async () => ({ global: false, registered: [] }),
      'session:login': (payload) => this.#serial(() => this.#login(payload)),
      'session:logout': () => this.#serial(() => this.#logout()),
      'session:current': () => this.#serial(() => this.#current()),
      'sync:status': async () => this.#session?.engine.status() ?? signedOutStatus(),
      'sync:now': async () => {
        const session = this.#requireSession();
        await session.engine.requestSync();
        return session.engine.status();
      },
      'customers:search': (payload) => this.#search(payload.query, payload.limit ?? DEFAULT_SEARCH_LIMIT, payload.offset ?? 0),
      'customers:get': (payload) => this.#getCustomer(payload.customerId),
      'customers:lookupCaller': (payload) => this.#lookupCaller(payload.phone, payload.customerId),
      'notes:add': async (payload) => this.#addNote(payload.incidentId, payload.body),
      ...telephonyHandlers(() => this.#requireSession().telephony),
      ...this.#mail.handlers(),
    };
  }

  // ---- session ------------------------------------------------------------------------------

  /** Login, logout and session checks run one at a time: each may replace the open cache. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#sessionQueue.then(work, work);
    this.#sessionQueue = next.catch(() => {});
    return next;
  }

  async #login(credentials: { tenant: string; login: string; password: string }): Promise<SessionInfo> {
    this.#assertNotDisposed();
    const client = new BackendClient(this.#o.backendUrl);
    const response = await client.login(credentials);
    await this.#closeSession({ revoke: true });
    await this.#o.tokenStore.set(response.token);
    this.#writeLastSession({ user: response.user, tenant: response.tenant });
    return this.#openSession(response, response.token, true).info;
  }

  async #logout(): Promise<null> {
    await this.#closeSession({ revoke: true });
    await this.#o.tokenStore.set(null);
    this.#removeLastSession();
    this.#emit('sync:status', signedOutStatus());
    return null;
  }

  /**
   * The open session, else the one a stored token still holds (an app restart). With the
   * backend unreachable the last user's cache opens anyway, so searching works offline; the
   * token is checked when the backend is back.
   */
  async #current(): Promise<SessionInfo | null> {
    this.#assertNotDisposed();
    if (this.#session) return this.#session.info;
    const token = await this.#o.tokenStore.get();
    if (token === null) return null;
    let me: MeResponse;
    try {
      me = await new BackendClient(this.#o.backendUrl, token).me({ timeoutMs: SESSION_CHECK_TIMEOUT_MS });
    } catch (error) {
      if (error instanceof CodedError && error.code === 'unauthenticated') {
        await this.#o.tokenStore.set(null);
        this.#removeLastSession();
        return null;
      }
      if (error instanceof CodedError && error.code === 'offline') {
        const last = this.#readLastSession();
        return last ? this.#openSession(last, token, false).info : null;
      }
      throw error;
    }
    this.#writeLastSession(me);
    return this.#openSession(me, token, true).info;
  }

  #openSession(who: LastSession, token: string, online: boolean): ActiveSession {
    const { logger } = this.#o;
    const region = supportedRegion(who.tenant.defaultRegion, logger);
    const cacheFile = path.join(this.#o.dataDir, pathSegment(who.tenant.id), pathSegment(who.user.id), 'cache.db');
    const db = openCache(cacheFile);
    try {
      const store = new CacheStore(db, { logger, region });
      const client = new BackendClient(this.#o.backendUrl, token);
      const info: SessionInfo = { user: who.user, tenant: who.tenant, backendUrl: this.#o.backendUrl };
      const engine = new SyncEngine({
        store,
        cacheFile,
        client,
        region,
        logger,
        snapshotWorkerFile: this.#o.snapshotWorkerFile ?? defaultSnapshotWorkerFile(),
        initiallyOnline: online,
        loginRights: online ? who.user : null,
        tuning: this.#o.syncTuning,
        onSessionExpired: (reason) => {
          void this.#serial(() => this.#expire(session, reason));
        },
      });
      const telephony = new TelephonySession({ info, client, store, engine }, logger, this.#o.telephonyTuning);
      const session: ActiveSession = { info, client, db, store, engine, region, telephony };
      engine.onStatus((status) => this.#emit('sync:status', status));
      engine.onDelivery((delivery) => this.#emit('outbox:delivered', delivery));
      this.#mail.open({ user: who.user, client, userDir: path.dirname(cacheFile), online });
      this.#session = session;
      engine.start();
      telephony.start();
      return session;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async #expire(session: ActiveSession, reason: string): Promise<void> {
    if (this.#session !== session) return;
    await this.#closeSession({ revoke: false });
    await this.#o.tokenStore.set(null);
    this.#removeLastSession();
    this.#emit('session:expired', { reason });
    this.#emit('sync:status', signedOutStatus());
  }

  async #closeSession({ revoke }: { revoke: boolean }): Promise<void> {
    const session = this.#session;
    if (!session) return;
    this.#session = null;
    await session.telephony.stop({ signingOut: revoke });
    await this.#mail.close({ signOut: revoke });
    await session.engine.stop();
    session.db.close();
    if (revoke) {
      // Best effort: offline, the token simply expires on the backend.
      await session.client.logout({ timeoutMs: ONLINE_FALLBACK_TIMEOUT_MS }).catch(() => {});
    }
  }

  async #dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#serial(() => this.#closeSession({ revoke: false }));
    this.#listeners.clear();
  }

  #requireSession(): ActiveSession {
    this.#assertNotDisposed();
    if (!this.#session) throw new CodedError('unauthenticated', 'Log in first');
    return this.#session;
  }

  #assertNotDisposed(): void {
    if (this.#disposed) throw new CodedError('internal', 'The app is shutting down');
  }

  get #lastSessionFile(): string {
    return path.join(this.#o.dataDir, 'last-session.json');
  }

  #writeLastSession(last: LastSession): void {
    fs.mkdirSync(this.#o.dataDir, { recursive: true });
    const temporary = `${this.#lastSessionFile}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify({ user: last.user, tenant: last.tenant }), { mode: 0o600 });
    fs.renameSync(temporary, this.#lastSessionFile);
  }

  #readLastSession(): LastSession | null {
    try {
      return JSON.parse(fs.readFileSync(this.#lastSessionFile, 'utf8')) as LastSession;
    } catch {
      return null;
    }
  }

  #removeLastSession(): void {
    fs.rmSync(this.#lastSessionFile, { force: true });
  }

  #emit: CoreEventListener = (...args) => {
    for (const listener of this.#listeners) listener(...args);
  };

  // ---- customers ----------------------------------------------------------------------------

  async #search(query: string, limit: number, offset: number): Promise<SearchResult> {
    const session = this.#requireSession();
    const withMatch = (customers: CustomerSummary[]) =>
      customers.map((customer) => ({ ...customer, matchedPhone: phoneMatchingQuery(customer.phones, query, session.region)?.e164 ?? null }));
    const page = session.store.searchPage(query, { limit, offset });
    if (page.total > 0 || normaliseForSearch(query) === '') {
      return { customers: withMatch(page.customers), source: 'cache', total: page.total, totalExact: page.totalExact };
    }
    // The backend's search has no offset: ask for everything up to this page, and one more to
    // learn whether there are more.
    const wanted = offset + limit + 1;
    const asked = Math.min(wanted, MAX_ONLINE_SEARCH);
    const online = await this.#tryOnline(session, (timeoutMs) => session.client.search(query.trim(), asked, { timeoutMs }));
    if (online.found) {
      const found = online.value.customers;
      return {
        customers: withMatch(found.slice(offset, offset + limit)),
        source: 'online',
        total: found.length,
        totalExact: found.length < asked,
      };
    }
    return { customers: [], source: 'cache', total: 0, totalExact: true };
  }

  async #getCustomer(customerId: string): Promise<CustomerDetail> {
    const session = this.#requireSession();
    const cached = session.store.getDetail(customerId);
    if (cached) return { ...cached, source: 'cache' };
    const online = await this.#tryOnline(session, (timeoutMs) => session.client.customer(customerId, { timeoutMs }));
    if (online.found) return detailFromRecord(online.value);
    if (online.unreachable) {
      throw new CodedError('offline', 'This customer is not in the local cache and the backend cannot be reached');
    }
    throw new CodedError('not_found', 'customerId: no such customer');
  }

  /** Screen pop: an IVR customer id wins over the number; the cache first, then the backend. */
  async #lookupCaller(phone: string | undefined, customerId: string | undefined): Promise<CustomerDetail | null> {
    const session = this.#requireSession();
    const e164 = phone === undefined ? null : toE164(phone, session.region);
    if (customerId !== undefined) {
      const cached = session.store.getDetail(customerId);
      if (cached) return { ...cached, source: 'cache' };
      const online = await this.#tryOnline(session, (timeoutMs) => session.client.customer(customerId, { timeoutMs }));
      if (online.found) return detailFromRecord(online.value);
    }
    if (e164 !== null) {
      const [match] = session.store.findByPhone(e164);
      const cached = match ? session.store.getDetail(match.id) : null;
      if (cached) return { ...cached, source: 'cache' };
      const online = await this.#tryOnline(session, (timeoutMs) => session.client.byPhone(e164, { timeoutMs }));
      if (online.found && online.value.record) return detailFromRecord(online.value.record);
    }
    return null;
  }

  /**
   * Asks the backend when the cache had no answer. Unreachable and not found are answers
   * (the caller falls back); other errors are real failures.
   */
  async #tryOnline<T>(
    session: ActiveSession,
    call: (timeoutMs: number) => Promise<T>,
  ): Promise<{ found: true; value: T } | { found: false; unreachable: boolean }> {
    if (!session.engine.status().online) return { found: false, unreachable: true };
    try {
      return { found: true, value: await call(ONLINE_FALLBACK_TIMEOUT_MS) };
    } catch (error) {
      if (error instanceof CodedError && error.code === 'offline') return { found: false, unreachable: true };
      if (error instanceof CodedError && error.code === 'not_found') return { found: false, unreachable: false };
      throw error;
    }
  }

  // ---- notes --------------------------------------------------------------------------------

  /**
   * A note goes to the outbox with a client-generated id and shows at once as a pending
   * contact whose id is that client id; once pushed it takes the server's contact id
   * (CacheStore.recordPushResults), so the feed's copy replaces it instead of doubling it.
   */
  #addNote(incidentId: string, body: string) {
    const session = this.#requireSession();
    const incident = session.store.getIncident(incidentId);
    if (!incident) throw new CodedError('not_found', 'incidentId: no such incident in the local cache');
    const clientId = randomUUID();
    const createdAt = new Date().toISOString();
    const entry: OutboxEntry = { type: 'add_note', clientId, incidentId, body, createdAt };
    const { user } = session.info;
    const contact: Contact = {
      id: clientId,
      incidentId,
      customerId: incident.customerId,
      kind: 'note',
      direction: 'internal',
      occurredAt: createdAt,
      agentId: user.id,
      agentName: user.displayName,
      summary: summariseNote(body),
      body,
      callMeta: null,
    };
    session.store.addPendingNote(entry, contact);
    session.engine.outboxChanged();
    return { ...contact, pending: true };
  }
}

function detailFromRecord(record: CustomerRecord): CustomerDetail {
  const newestFirst = <T>(items: T[], time: (item: T) => string) =>
    [...items].sort((a, b) => (time(a) < time(b) ? 1 : time(a) > time(b) ? -1 : 0));
  return {
    customer: record.customer,
    incidents: newestFirst(record.incidents, (incident) => incident.openedAt),
    contacts: newestFirst(record.contacts, (contact) => contact.occurredAt).map((contact) => ({ ...contact, pending: false })),
    source: 'online',
  };
}

function summariseNote(body: string): string {
  const firstLine = body.split(/\r?\n/, 1)[0]?.trim() ?? '';
  const codePoints = [...firstLine];
  return codePoints.length > NOTE_SUMMARY_LENGTH ? `${codePoints.slice(0, NOTE_SUMMARY_LENGTH - 1).join('')}…` : firstLine;
}

/** Ids come from the backend; anything that is not a plain token is hashed before it names a folder. */
function pathSegment(id: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : createHash('sha256').update(id).digest('hex');
}

function supportedRegion(region: string, logger: Logger): CountryCode {
  if (isSupportedCountry(region)) return region;
  logger.warn('the tenant region is not a known country code; using the default', { region, fallback: DEFAULT_REGION });
  return DEFAULT_REGION;
}
