import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js';
import type { CustomerRecord, CustomerSummary, MeResponse, OutboxEntry } from '../../shared/api.js';
import type { Contact } from '../../shared/domain.js';
import type {
  CacheProblem,
  CustomerDetail,
  IpcEvent,
  IpcEventPayload,
  IpcHandlerTable,
  SearchResult,
  SessionInfo,
  SyncStatus,
} from '../../shared/ipc.js';
import { parseBackendUrls } from '../../shared/backend-url.js';
import { DEFAULT_REGION, phoneMatchingQuery, toE164 } from '../../shared/phone.js';
import { CodedError } from '../../shared/result.js';
import { isPartnerUser, maySeeCustomer } from '../../shared/permissions.js';
import { normaliseForSearch } from '../../shared/search-text.js';
import { AgentStatusChannel } from './agent-status.js';
import { BackendClient } from './backend-client.js';
import { BackendEndpoints } from './backend-endpoints.js';
import {
  cacheProblemOf,
  isCorruptionError,
  openCheckedCache,
  openReadOnlyCopy,
  rebuildDamagedCache,
  unwritableCacheError,
} from './cache/cache-health.js';
import type { CacheKeyStore } from './cache/cache-keys.js';
import { CacheStore, DEFAULT_SEARCH_LIMIT } from './cache/cache-store.js';
import { ensurePrivateFolders } from './cache/encrypted-database.js';
import type { CacheDb } from './cache/open-cache.js';
import { CACHE_FILE, unlockUserCache, wipeUserCache } from './cache/user-cache.js';
import { adminHandlers } from './admin.js';
import { auditHandlers } from './audit.js';
import { CallsForYouSession, callsForYouHandlers } from './calls-for-you.js';
import { monitoringHandlers } from './monitoring.js';
import { callMeHandlers, callMeOfferFollower } from './callme.js';
import { portalHandlers } from './portal.js';
import { screenSyncHandlers } from './screen-sync.js';
import { repRoutingHandlers } from './rep-routing.js';
import { DeskSession, deskHandlers } from './desk.js';
import { exchangeHandlers } from './exchange.js';
import { createIpcDispatcher, type IpcDispatcher } from './handlers.js';
import { recordingHandlers } from './recordings.js';
import { reportHandlers } from './reports.js';
import { MailChannel, type MailTuning } from './mail.js';
import type { Logger } from './logger.js';
import { defaultSnapshotWorkerFile } from './sync/snapshot-runner.js';
import { SyncEngine, type SyncTuning } from './sync/sync-engine.js';
import { telephonyHandlers, TelephonySession, type TelephonyHost, type TelephonyTuning } from './telephony.js';
import type { TokenStore } from './token-store.js';

export interface CoreOptions {
  /** Per-user caches live under `<dataDir>/<tenantId>/<userId>/cache.db`. */
  dataDir: string;
  /**
   * The backend: one URL, or several separated by commas (instances on one shared database,
   * tried in turn when one cannot be reached; see BackendEndpoints).
   */
  backendUrl: string;
  tokenStore: TokenStore;
  /** Keeps each user's cache key (the shell decides where: OS keychain, key file). */
  cacheKeys: CacheKeyStore;
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
/** A customer shown again from the cache within this time is the same view (see #auditCachedView). */
const CACHED_VIEW_AUDIT_INTERVAL_MS = 60_000;
/** A screen pop's audit entry waits this long in the outbox before its push starts a sync pass. */
const SCREEN_POP_PUSH_DELAY_MS = 500;
/** The backend's search answers at most this many customers (SearchQuery's limit). */
const MAX_ONLINE_SEARCH = 100;
/** How long a sign-out waits for the outbox and offline drafts to reach the backend. */
const SIGN_OUT_PUSH_TIMEOUT_MS = 5_000;

/**
 * Caches open in this process. The browser shell runs one core per window in one process;
 * one user signed in in two windows would run two sync engines and two softphones on one
 * cache, so the second window is refused instead.
 */
const openCacheFiles = new Set<string>();

interface ActiveSession {
  cacheFile: string;
  info: SessionInfo;
  client: BackendClient;
  /** The user's folder: cache, drafts, key. */
  userDir: string;
  cacheKey: Buffer;
  /** The stored token the session runs on (a rebuilt cache reopens the session with it). */
  token: string;
  db: CacheDb;
  /** Closes the cache (and removes the read-only copy of an unwritable one). */
  closeCache: () => void;
  store: CacheStore;
  engine: SyncEngine;
  region: CountryCode;
  telephony: TelephonySession;
  agentStatus: AgentStatusChannel;
  desk: DeskSession;
  callsForYou: CallsForYouSession;
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

/**
 * The desktop core: session, local cache, sync and the IPC handler table both shells serve.
 * Throws (invalid_input) for a backend URL that is neither https nor on loopback, or a list
 * with a bad entry.
 */
export function createCore(options: CoreOptions): Core {
  const backend = parseBackendUrls(options.backendUrl);
  if (!backend.ok) throw new CodedError('invalid_input', backend.message);
  return new DesktopCore(options, new BackendEndpoints(backend.urls)).toCore();
}

class DesktopCore {
  readonly #o: CoreOptions;
  /** Shared by every client of this core: once one request finds an instance dead, all move on. */
  readonly #endpoints: BackendEndpoints;
  readonly #listeners = new Set<CoreEventListener>();
  #session: ActiveSession | null = null;
  /**
   * A partner user's sign-in: only a backend client. Important: a partner gets no cache, no
   * sync, no softphone, no mail and no agent status; it works online in the exchange alone.
   */
  #partner: { info: SessionInfo; client: BackendClient } | null = null;
  /** When this app last queued a cached view of a customer, by `userId:customerId`. */
  readonly #cachedViewsAudited = new Map<string, number>();
  #sessionQueue: Promise<unknown> = Promise.resolve();
  /** Sessions whose damaged cache is being rebuilt: one rebuild however many reads failed. */
  readonly #rebuilding = new WeakSet<ActiveSession>();
  #disposed = false;
  readonly #mail: MailChannel;

  constructor(options: CoreOptions, endpoints: BackendEndpoints) {
    this.#o = options;
    this.#endpoints = endpoints;
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
        backendUrl: this.#endpoints.active,
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
      'agent:setStatus': async (payload) => this.#requireSession().agentStatus.choose(payload.status),
      'agent:status': async () => this.#requireSession().agentStatus.state(),
      ...telephonyHandlers(() => this.#requireSession().telephony),
      ...deskHandlers(() => this.#requireSession().desk),
      ...callsForYouHandlers(() => this.#requireSession().callsForYou),
      ...monitoringHandlers(() => this.#requireSession().client),
      ...portalHandlers(() => this.#requireSession().client),
      ...callMeHandlers(() => this.#requireSession().client),
      ...screenSyncHandlers(() => this.#requireSession().client),
      ...repRoutingHandlers(() => this.#requireSession().client),
      // The call history keeps what this computer saw, for when the backend cannot be reached.
      'calls:event': async (payload) => {
        const session = this.#requireSession();
        session.desk.noteCallEvent(payload);
        return session.telephony.reportCallEvent(payload);
      },
      ...auditHandlers(() => this.#requireSession().client),
      ...reportHandlers(() => this.#requireSession().client),
      ...adminHandlers(() => this.#requireSession().client),
      ...this.#mail.handlers(),
      ...recordingHandlers(() => this.#requireSession().client),
      ...exchangeHandlers(() => this.#session?.client ?? this.#partner?.client ?? this.#requireSession().client),
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
    const client = new BackendClient(this.#endpoints);
    const response = await client.login(credentials);
    await this.#closeSession({ revoke: true, wipe: true });
    if (openCacheFiles.has(this.#cacheFileOf(response))) {
      await new BackendClient(this.#endpoints, response.token).logout({ timeoutMs: ONLINE_FALLBACK_TIMEOUT_MS }).catch(() => {});
      throw new CodedError('conflict', 'This user is already signed in in another window of this app; use that window or sign out there first');
    }
    await this.#o.tokenStore.set(response.token);
    this.#writeLastSession({ user: response.user, tenant: response.tenant });
    return this.#open(response, response.token, true, true);
  }

  async #logout(): Promise<null> {
    await this.#pushBeforeSignOut();
    await this.#closeSession({ revoke: true, wipe: true });
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
    if (this.#partner) return this.#partner.info;
    const token = await this.#o.tokenStore.get();
    if (token === null) return null;
    let me: MeResponse;
    try {
      me = await new BackendClient(this.#endpoints, token).me({ timeoutMs: SESSION_CHECK_TIMEOUT_MS });
    } catch (error) {
      if (error instanceof CodedError && error.code === 'unauthenticated') {
        // The session expired or the account was disabled while the app was closed.
        const last = this.#readLastSession();
        if (last) await wipeUserCache(this.#userDir(last), this.#o.cacheKeys, this.#o.logger);
        await this.#o.tokenStore.set(null);
        this.#removeLastSession();
        return null;
      }
      if (error instanceof CodedError && error.code === 'offline') {
        const last = this.#readLastSession();
        return last ? this.#open(last, token, false) : null;
      }
      throw error;
    }
    this.#writeLastSession(me);
    return this.#open(me, token, true);
  }

  /** Opens what the signed-in user's role works with: the exchange alone for a partner, else the full session. */
  async #open(who: LastSession, token: string, online: boolean, freshLogin = false): Promise<SessionInfo> {
    if (isPartnerUser(who.user)) {
      const info: SessionInfo = { user: who.user, tenant: who.tenant, backendUrl: this.#endpoints.active };
      this.#partner = { info, client: new BackendClient(this.#endpoints, token) };
      return info;
    }
    return (await this.#openSession(who, token, online, freshLogin)).info;
  }

  #userDir(who: LastSession): string {
    return path.resolve(this.#o.dataDir, pathSegment(who.tenant.id), pathSegment(who.user.id));
  }

  async #openSession(
    who: LastSession,
    token: string,
    online: boolean,
    freshLogin = false,
    rebuilt?: { problem: CacheProblem; lostOutbox: number },
  ): Promise<ActiveSession> {
    const { logger } = this.#o;
    const region = supportedRegion(who.tenant.defaultRegion, logger);
    const userDir = this.#userDir(who);
    const cacheFile = this.#cacheFileOf(who);
    if (openCacheFiles.has(cacheFile)) throw new CodedError('conflict', 'This user is already signed in in another window of this app');
    // Reserved before the first await, so two windows signing in at once cannot both open it.
    openCacheFiles.add(cacheFile);
    let cacheKey: Buffer;
    let db: CacheDb;
    let openedWith = rebuilt;
    let closeCache: (() => void) | undefined;
    try {
      try {
        ensurePrivateFolders(this.#o.dataDir, userDir);
      } catch (error) {
        // A folder that cannot be changed any more is met again below, with what to do.
        if (cacheProblemOf(error) === null) throw error;
        logger.warn('the cache folder cannot be changed', { error: describeError(error) });
      }
      const unlocked = await unlockUserCache(userDir, this.#o.cacheKeys, logger);
      cacheKey = unlocked.key;
      ({ db, openedWith, dispose: closeCache } = openUserCache(cacheFile, cacheKey, logger, openedWith, unlocked.cacheSetAside));
    } catch (error) {
      openCacheFiles.delete(cacheFile);
      throw error;
    }
    try {
      const store = new CacheStore(db, { logger, region });
      const client = new BackendClient(this.#endpoints, token);
      const info: SessionInfo = { user: who.user, tenant: who.tenant, backendUrl: this.#endpoints.active };
      const engine = new SyncEngine({
        store,
        cacheFile,
        cacheKey,
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
        openedWith,
        onCacheDamaged: () => this.#cacheDamaged(session),
        onCallMeOffer: callMeOfferFollower(client, logger, (payload) => this.#emit('callme:offer', payload)),
      });
      const host: TelephonyHost = { info, client, store, engine, emit: (event, payload) => this.#emit(event, payload) };
      const telephony = new TelephonySession(host, logger, this.#o.telephonyTuning);
      const agentStatus = new AgentStatusChannel({ client, store, engine, logger, emit: (event, payload) => this.#emit(event, payload) });
      const desk = new DeskSession(host, logger);
      const callsForYou = new CallsForYouSession(host);
      const session: ActiveSession = {
        cacheFile,
        info,
        client,
        userDir,
        cacheKey,
        token,
        db,
        store,
        engine,
        region,
        telephony,
        agentStatus,
        desk,
        callsForYou,
        closeCache: closeCache ?? (() => db.close()),
      };
      engine.onStatus((status) => this.#emit('sync:status', status));
      engine.onDelivery((delivery) => {
        // Audited cached views are not the user's work: the window hears only of its changes.
        const entries = delivery.entries.filter((entry) => entry.type !== 'customer_viewed');
        if (entries.length > 0) this.#emit('outbox:delivered', { entries });
      });
      this.#mail.open({ user: who.user, client, userDir, cacheKey, online });
      this.#session = session;
      engine.start();
      telephony.start();
      agentStatus.start({ freshLogin });
      return session;
    } catch (error) {
      openCacheFiles.delete(cacheFile);
      if (closeCache) closeCache();
      else db.close();
      throw error;
    }
  }

  #cacheFileOf(who: LastSession): string {
    return path.join(this.#userDir(who), CACHE_FILE);
  }

  async #expire(session: ActiveSession, reason: string): Promise<void> {
    if (this.#session !== session) return;
    await this.#closeSession({ revoke: false, wipe: true });
    await this.#o.tokenStore.set(null);
    this.#removeLastSession();
    this.#emit('session:expired', { reason });
    this.#emit('sync:status', signedOutStatus());
  }

  /**
   * SQLite found the open cache damaged (a read or a sync pass): the session closes, the cache
   * is rebuilt keeping the outbox rows it can still read (the damaged file is set aside), and
   * the session opens again on it; the sync engine then fills it from the server. Lookups
   * meanwhile miss the cache and ask the backend.
   */
  #cacheDamaged(session: ActiveSession): void {
    if (this.#rebuilding.has(session)) return;
    this.#rebuilding.add(session);
    void this.#serial(async () => {
      if (this.#session !== session) return;
      const online = session.engine.status().online;
      await this.#closeSession({ revoke: false, wipe: false });
      const { unreadableOutbox } = rebuildDamagedCache(session.cacheFile, session.cacheKey, this.#o.logger);
      const who = { user: session.info.user, tenant: session.info.tenant };
      await this.#openSession(who, session.token, online, false, { problem: 'rebuilt_corrupt', lostOutbox: unreadableOutbox });
    }).catch((error: unknown) => {
      this.#o.logger.error('the damaged cache could not be rebuilt', { error: describeError(error) });
    });
  }

  /**
   * `wipe` (sign-out, expiry, disabled account) removes the user's cached data and key, keeping
   * only what the backend has not taken yet (see wipeUserCache); a shutdown keeps everything.
   */
  async #closeSession({ revoke, wipe }: { revoke: boolean; wipe: boolean }): Promise<void> {
    const partner = this.#partner;
    this.#partner = null;
    if (partner && revoke) await partner.client.logout({ timeoutMs: ONLINE_FALLBACK_TIMEOUT_MS }).catch(() => {});
    const session = this.#session;
    if (!session) return;
    this.#session = null;
    session.desk.stop();
    session.callsForYou.stop();
    await session.telephony.stop({ signingOut: revoke });
    await session.agentStatus.stop({ signingOut: revoke });
    await this.#mail.close({ signOut: revoke });
    await session.engine.stop();
    session.closeCache();
    openCacheFiles.delete(session.cacheFile);
    if (wipe) await wipeUserCache(session.userDir, this.#o.cacheKeys, this.#o.logger);
    if (revoke) {
      // Best effort: offline, the token simply expires on the backend.
      await session.client.logout({ timeoutMs: ONLINE_FALLBACK_TIMEOUT_MS }).catch(() => {});
    }
  }

  /**
   * A sign-out first gives the outbox and the drafts saved offline a bounded chance to reach
   * the backend, so that the wipe that follows usually leaves nothing behind; what still
   * cannot be sent is kept (wipeUserCache).
   */
  async #pushBeforeSignOut(): Promise<void> {
    const session = this.#session;
    if (!session || !session.engine.status().online) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SIGN_OUT_PUSH_TIMEOUT_MS);
    });
    try {
      await Promise.race([Promise.allSettled([session.engine.requestSync(), this.#mail.flushDrafts()]), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#serial(() => this.#closeSession({ revoke: false, wipe: false }));
    this.#listeners.clear();
  }

  #requireSession(): ActiveSession {
    this.#assertNotDisposed();
    if (!this.#session) {
      if (this.#partner) throw new CodedError('forbidden', 'Partner users work only in the exchange');
      throw new CodedError('unauthenticated', 'Log in first');
    }
    return this.#session;
  }

  #assertNotDisposed(): void {
    if (this.#disposed) throw new CodedError('internal', 'The app is shutting down');
  }

  get #lastSessionFile(): string {
    return path.join(this.#o.dataDir, 'last-session.json');
  }

  #writeLastSession(last: LastSession): void {
    const temporary = `${this.#lastSessionFile}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(this.#o.dataDir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(temporary, JSON.stringify({ user: last.user, tenant: last.tenant }), { mode: 0o600 });
      fs.renameSync(temporary, this.#lastSessionFile);
    } catch (error) {
      // Only an offline restart needs it; a data folder that cannot be written is reported by
      // the cache (the status says what to do), not by failing the sign-in.
      if (cacheProblemOf(error) === null) throw error;
      fs.rmSync(temporary, { force: true });
      this.#o.logger.warn('the last session could not be remembered', { error: describeError(error) });
    }
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
    const page = this.#fromCache(session, () => session.store.searchPage(query, { limit, offset }));
    if (page && (page.total > 0 || normaliseForSearch(query) === '')) {
      // Customers the current rights forbid and a running purge has not reached yet are left
      // out (the count may then be a little high until the purge is done).
      const visible = page.customers.filter((customer) => this.#maySee(session, customer));
      return { customers: withMatch(visible), source: 'cache', total: page.total - (page.customers.length - visible.length), totalExact: page.totalExact };
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
    const cached = this.#cachedDetail(session, customerId);
    if (cached) {
      this.#auditCachedView(session, customerId, 'cache_open');
      return { ...cached, source: 'cache' };
    }
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
      const cached = this.#cachedDetail(session, customerId);
      if (cached) {
        this.#auditScreenPopAfterAnswer(session, customerId);
        return { ...cached, source: 'cache' };
      }
      const online = await this.#tryOnline(session, (timeoutMs) => session.client.customer(customerId, { timeoutMs }));
      if (online.found) return detailFromRecord(online.value);
    }
    if (e164 !== null) {
      const match = this.#fromCache(session, () => session.store.findByPhone(e164))?.find((customer) => this.#maySee(session, customer));
      const cached = match ? this.#cachedDetail(session, match.id) : null;
      if (cached) {
        this.#auditScreenPopAfterAnswer(session, cached.customer.id);
        return { ...cached, source: 'cache' };
      }
      const online = await this.#tryOnline(session, (timeoutMs) => session.client.byPhone(e164, { timeoutMs }));
      if (online.found && online.value.record) return detailFromRecord(online.value.record);
    }
    return null;
  }

  /**
   * A cache read; null when SQLite finds the cache damaged: the rebuild starts and the caller
   * falls back to the backend as on a miss.
   */
  #fromCache<T>(session: ActiveSession, read: () => T): T | null {
    try {
      return read();
    } catch (error) {
      if (!isCorruptionError(error)) throw error;
      this.#o.logger.error('a cache read found the cache damaged', { error: describeError(error) });
      this.#cacheDamaged(session);
      return null;
    }
  }

  /** A cached customer the current rights allow, else null (then the backend decides). */
  #cachedDetail(session: ActiveSession, customerId: string) {
    const cached = this.#fromCache(session, () => session.store.getDetail(customerId));
    return cached && this.#maySee(session, cached.customer) ? cached : null;
  }

  #maySee(session: ActiveSession, customer: Parameters<typeof maySeeCustomer>[1]): boolean {
    const rights = session.engine.rights();
    return rights === null || maySeeCustomer(rights, customer);
  }

  /**
   * The screen pop's audit entry is written once the answer is on its way, and pushed later
   * still: the outbox write, the status event it sends and the sync pass it starts would
   * otherwise all go out ahead of the answer the ringing call waits for (they were most of the
   * core's share of the pop), or beside the card's first paint. It keeps the time of the view.
   */
  #auditScreenPopAfterAnswer(session: ActiveSession, customerId: string): void {
    const viewedAt = Date.now();
    setImmediate(() => {
      if (this.#session !== session) {
        this.#o.logger.warn('a screen pop from the cache could not be audited: the session closed at once', {});
        return;
      }
      try {
        this.#auditCachedView(session, customerId, 'cache_screen_pop', { viewedAt, pushAfterMs: SCREEN_POP_PUSH_DELAY_MS });
      } catch (error) {
        this.#o.logger.error('a screen pop from the cache could not be audited', { error: describeError(error) });
      }
    });
  }

  /**
   * A record shown from the cache never reached the backend, which audits the views it serves:
   * the view goes through the outbox as `customer_viewed` with its own time, so it is audited
   * offline too. The same customer shown again within CACHED_VIEW_AUDIT_INTERVAL_MS (a re-render,
   * a refresh after sync) is one view. `pushAfterMs`: the entry is stored at once but pushed that
   * much later (a screen pop's card is being painted meanwhile; a sync pass and its status
   * events would compete with it).
   */
  #auditCachedView(
    session: ActiveSession,
    customerId: string,
    via: 'cache_open' | 'cache_screen_pop',
    timing: { viewedAt?: number; pushAfterMs?: number } = {},
  ): void {
    const now = timing.viewedAt ?? Date.now();
    const key = `${session.info.user.id}:${customerId}`;
    const last = this.#cachedViewsAudited.get(key);
    if (last !== undefined && now - last < CACHED_VIEW_AUDIT_INTERVAL_MS) return;
    this.#cachedViewsAudited.set(key, now);
    const entry: OutboxEntry = { type: 'customer_viewed', clientId: randomUUID(), customerId, via, createdAt: new Date(now).toISOString() };
    session.store.addPendingChange(entry, {});
    if (timing.pushAfterMs === undefined) {
      session.engine.outboxChanged();
      return;
    }
    setTimeout(() => {
      if (this.#session === session) session.engine.outboxChanged();
    }, timing.pushAfterMs).unref();
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

/**
 * Opens the user's cache, checked (openCheckedCache). A folder that can no longer be written
 * (read-only, disk full) still opens its cache read only, so lookups keep working from it and
 * the status says what is wrong; a cache that cannot even be read that way is refused with the
 * same clear error.
 */
function openUserCache(
  file: string,
  key: Buffer,
  logger: Logger,
  rebuilt: { problem: CacheProblem; lostOutbox: number } | undefined,
  setAside: boolean,
): { db: CacheDb; openedWith: { problem: CacheProblem; lostOutbox: number } | undefined; dispose?: () => void } {
  try {
    const checked = openCheckedCache(file, key, logger);
    const openedWith = checked.problem ? { problem: checked.problem, lostOutbox: checked.lostOutbox } : setAside ? { problem: 'rebuilt_unreadable' as const, lostOutbox: 0 } : rebuilt;
    return { db: checked.db, openedWith };
  } catch (error) {
    const problem = cacheProblemOf(error);
    if (problem !== 'read_only' && problem !== 'disk_full') throw error;
    logger.error('the local cache cannot be written; opening a read-only copy of it', { problem, error: describeError(error) });
    try {
      const copy = openReadOnlyCopy(file, key);
      return { db: copy.db, openedWith: { problem, lostOutbox: 0 }, dispose: copy.dispose };
    } catch (readError) {
      logger.error('the local cache cannot be read either', { error: describeError(readError) });
      throw unwritableCacheError(problem);
    }
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function supportedRegion(region: string, logger: Logger): CountryCode {
  if (isSupportedCountry(region)) return region;
  logger.warn('the tenant region is not a known country code; using the default', { region, fallback: DEFAULT_REGION });
  return DEFAULT_REGION;
}
