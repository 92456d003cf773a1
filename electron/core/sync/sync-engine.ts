import { ChangedEvent } from '../../../shared/api.js';
import { callsWindowStart } from '../../../shared/calls-for-you.js';
import type { User, UserRights } from '../../../shared/domain.js';
import type { CacheProblem, OutboxDelivery, SyncStatus } from '../../../shared/ipc.js';
import { CodedError } from '../../../shared/result.js';
import type { BackendClient } from '../backend-client.js';
import { cacheProblemOf, isCorruptionError } from '../cache/cache-health.js';
import type { CacheStore } from '../cache/cache-store.js';
import type { Logger } from '../logger.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { followServerSentEvents } from './server-sent-events.js';
import { compareRights, META, readProgress, restartSnapshotForGrownRights, saveRights, snapshotComplete } from './snapshot.js';
import { runSnapshotWorker, type RunningSnapshot } from './snapshot-runner.js';

export interface SyncTuning {
  /** A pass runs at least this often while online, pokes or not. */
  pollIntervalMs: number;
  /** Retry delays while the backend cannot be reached (sync passes and the event stream). */
  backoff: BackoffPolicy;
  /**
   * Customers per first-sync page, each written in one transaction. Incidents and contacts carry
   * random ids, so a page's rows land all over the id indexes and contacts_incident, and each
   * commit rewrites every index page it touched: larger pages touch each one for more rows.
   * 5,000 (the backend's maximum) against 2,000: insert 145 against 201 µs CPU per customer at
   * 100,000 customers (bench:cache-write), for a page of about 10 MB and a write lock held ~1 s.
   */
  snapshotPageSize: number;
  changesPageSize: number;
  pushBatchSize: number;
  /** The backend counts as lost when its event stream is silent this long (it sends a heartbeat every 2 s). */
  eventsSilenceMs: number;
  /**
   * Retries while the cache cannot be written (read-only folder, full disk) wait at least this
   * long: that takes a person to fix, and retrying every few seconds only fills the log.
   */
  cacheProblemRetryMs: number;
}

export const DEFAULT_SYNC_TUNING: SyncTuning = {
  pollIntervalMs: 30_000,
  backoff: DEFAULT_BACKOFF,
  snapshotPageSize: 5000,
  changesPageSize: 1000,
  pushBatchSize: 100,
  eventsSilenceMs: 5_000,
  cacheProblemRetryMs: 60_000,
};

/** Customers deleted per transaction when rights shrink; the main thread breathes in between. */
const PURGE_BATCH = 500;

/** Bounds of one pass; what is left is fetched by the next pass, which is requested at once. */
const MAX_CHANGE_PAGES_PER_PASS = 50;
const MAX_PUSH_BATCHES_PER_PASS = 20;
/** Delta pokes kept while a pass runs; beyond them the pass is simply followed by another. */
const MAX_HELD_DELTAS = 20;

export interface SyncEngineOptions {
  /** The main thread's store (deltas and the outbox are small writes). */
  store: CacheStore;
  /** The same cache file, opened again by the snapshot worker. */
  cacheFile: string;
  /** Its encryption key, handed to the worker in memory. */
  cacheKey: Buffer;
  client: BackendClient;
  region: string;
  logger: Logger;
  snapshotWorkerFile: string;
  /** True when the engine starts right after the backend answered (login, session check). */
  initiallyOnline: boolean;
  /**
   * The user's rights as the backend just reported them (login, session check), honoured
   * before anything else: a cache left from an earlier session never shows what the user may
   * no longer read. Null when the session was restored offline.
   */
  loginRights: User | null;
  tuning?: Partial<SyncTuning>;
  /** The backend refused the token: the core ends the session. */
  onSessionExpired: (reason: string) => void;
  /** The cache was found damaged and rebuilt as this session opened (see openCheckedCache). */
  openedWith?: { problem: CacheProblem; lostOutbox: number };
  /**
   * SQLite reported the cache damaged during a pass: the core rebuilds it and starts a new
   * engine; this one stops retrying (a malformed file fails the same way every time).
   */
  onCacheDamaged?: (error: unknown) => void;
  /** The event stream said this operator's "call me" offer changed, or it (re)opened: ask for it. */
  onCallMeOffer?: () => void;
}

/**
 * Keeps one user's cache in step with the backend.
 *
 * Passes are serialised: a pass takes (or resumes) the first snapshot in a worker thread,
 * then pushes the outbox, then pulls the change feed until it is drained. Pushing before
 * pulling matters: the pending copy of a note takes the server's contact id before the feed
 * delivers that contact, so the note is never shown twice. A pass is requested by a poke on
 * the event stream, by the poll timer, by a note written locally, by the event stream
 * reconnecting (the backend is back), and by the backoff timer after a failure.
 */
export class SyncEngine {
  readonly #o: SyncEngineOptions;
  readonly #tuning: SyncTuning;
  readonly #listeners = new Set<(status: SyncStatus) => void>();
  readonly #deliveryListeners = new Set<(delivery: OutboxDelivery) => void>();
  readonly #stop = new AbortController();
  #status: SyncStatus;
  #lastEmitted = '';
  #running: Promise<void> | null = null;
  #wanted = false;
  /** The next pass pulls even if the event stream brings deltas (see #runPasses). */
  #pullWanted = false;
  /** The event stream's current connection has brought a delta poke: the deltas reach this cache. */
  #deltasLive = false;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #snapshot: RunningSnapshot | null = null;
  #events: Promise<void> | null = null;
  #loginRights: User | null;
  /** The newest rights known: reads are filtered by these before any purge has caught up. */
  #rights: UserRights | null;
  #stopListeningToClient: () => void = () => {};
  /** Delta pokes that arrived during a pass, applied when it ends (at most MAX_HELD_DELTAS). */
  readonly #heldDeltas: ChangedEvent[] = [];

  constructor(options: SyncEngineOptions) {
    this.#o = options;
    this.#tuning = { ...DEFAULT_SYNC_TUNING, ...options.tuning };
    this.#loginRights = options.loginRights;
    const { store } = options;
    this.#rights = options.loginRights ?? savedRights(store);
    const counts = store.outboxCounts();
    this.#status = {
      phase: snapshotComplete(store) ? 'idle' : 'snapshot',
      online: options.initiallyOnline,
      lastSyncedAt: store.getMeta(META.lastSyncedAt),
      pendingOutbox: counts.pending,
      progress: snapshotComplete(store) ? null : readProgress(store),
      lastError: rejectedSummary(counts.rejected, counts.firstRejectedError),
      cachedCustomers: store.countCustomers(),
      backend: options.client.baseUrl,
      cacheProblem: options.openedWith?.problem ?? null,
      ...(options.openedWith ? { lostOutbox: options.openedWith.lostOutbox } : {}),
    };
    this.#lastEmitted = JSON.stringify(this.#status);
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  start(): void {
    if (this.stopped || this.#events) return;
    const { client } = this.#o;
    const stopAnswered = client.onAnswered(() => this.#backendAnswered());
    // Which instance the core is on is in the status, so IT can tell from the app's tooltip.
    const stopMoved = client.endpoints.onChange((active) => {
      this.#o.logger.warn('moved to another backend instance', { backend: active });
      this.#update({ backend: active });
    });
    this.#stopListeningToClient = () => {
      stopAnswered();
      stopMoved();
    };
    this.#events = this.#runEvents();
    this.#pollTimer = setInterval(() => {
      if (this.#status.online) void this.requestSync();
    }, this.#tuning.pollIntervalMs);
    this.#pollTimer.unref();
    void this.requestSync();
  }

  /**
   * The user's rights as the backend last reported them (null: never synced). Important: the
   * core filters every cache read by these, because a purge after a shrink runs in batches and
   * a restored session may not have reached the backend yet.
   */
  rights(): UserRights | null {
    return this.#rights;
  }

  status(): SyncStatus {
    return { ...this.#status, progress: this.#status.progress && { ...this.#status.progress } };
  }

  onStatus(listener: (status: SyncStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The backend answered a push: which entries it took and which it refused. */
  onDelivery(listener: (delivery: OutboxDelivery) => void): () => void {
    this.#deliveryListeners.add(listener);
    return () => this.#deliveryListeners.delete(listener);
  }

  /** Runs a pass now, or one more after the running pass; resolves when passes are done. */
  requestSync(): Promise<void> {
    this.#pullWanted = true;
    return this.#requestPass();
  }

  #requestPass(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.#wanted = true;
    this.#running ??= this.#runPasses().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /**
   * A note entered the outbox: show it in the status and push it. The pass pulls after the
   * push only when the event stream is not bringing deltas: a delta brings the note back.
   */
  outboxChanged(): void {
    this.#refreshOutboxCounts();
    void this.#requestPass();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.#stop.abort();
    this.#stopListeningToClient();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    await this.#snapshot?.terminate();
    await Promise.allSettled([this.#running, this.#events]);
    this.#listeners.clear();
    this.#deliveryListeners.clear();
  }

  async #runPasses(): Promise<void> {
    while (this.#wanted && !this.stopped) {
      this.#wanted = false;
      // A pass that only pushes (a note was written) leaves the pull to the delta pokes while
      // they flow: with a thousand operators that is half the requests of the backend.
      const pull = this.#pullWanted || !this.#deltasLive;
      this.#pullWanted = false;
      await this.#pass(pull).catch((error: unknown) => {
        // Only reached when even recording the failure failed (the cache is unusable).
        this.#o.logger.error('sync pass could not record its failure', { error: describe(error) });
      });
      this.#applyHeldDeltas();
    }
  }

  /**
   * The delta pokes that arrived while the pass ran, in order, now that it is over: what the
   * pass pulled already is skipped, and one that does not fit (a gap) asks for another pass. A
   * pass that failed retries with a pull anyway.
   */
  #applyHeldDeltas(): void {
    const held = this.#heldDeltas.splice(0);
    if (held.length === 0 || this.#status.phase !== 'idle') return;
    for (const event of held) {
      if (!this.#appliedDelta(event, true)) {
        this.#wantPull();
        return;
      }
    }
  }

  /** Another pass that pulls, after the running one. */
  #wantPull(): void {
    this.#wanted = true;
    this.#pullWanted = true;
  }

  async #pass(pull: boolean): Promise<void> {
    const { store } = this.#o;
    try {
      const loginRights = this.#loginRights;
      this.#loginRights = null;
      if (loginRights && (await this.#honourRights(loginRights))) return;
      let pulls = pull;
      if (!snapshotComplete(store)) {
        await this.#takeSnapshot();
        pulls = true;
      }
      this.#update({ phase: 'deltas', progress: null });
      await this.#pushOutbox();
      if (pulls) await this.#pullChanges();
      // lastSyncedAt: when the cache last caught up with the server (a push alone does not).
      let now = this.#status.lastSyncedAt;
      if (pulls) {
        now = new Date().toISOString();
        store.setMeta(META.lastSyncedAt, now);
      }
      this.#failures = 0;
      if (this.#retryTimer) clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
      const counts = store.outboxCounts();
      this.#update({
        phase: 'idle',
        online: true,
        lastSyncedAt: now,
        pendingOutbox: counts.pending,
        lastError: rejectedSummary(counts.rejected, counts.firstRejectedError),
        cachedCustomers: store.countCustomers(),
        cacheProblem: this.#lastingProblem(),
      });
    } catch (error) {
      this.#passFailed(error);
    }
  }

  async #takeSnapshot(): Promise<void> {
    const { store, client, logger } = this.#o;
    const token = client.token;
    if (token === null) throw new CodedError('unauthenticated', 'Not logged in');
    this.#update({ phase: 'snapshot', progress: readProgress(store) });
    const backendUrl = client.baseUrl;
    this.#snapshot = runSnapshotWorker(
      this.#o.snapshotWorkerFile,
      {
        cacheFile: this.#o.cacheFile,
        cacheKeyHex: this.#o.cacheKey.toString('hex'),
        backendUrl,
        token,
        pageSize: this.#tuning.snapshotPageSize,
        region: this.#o.region,
      },
      logger,
      (progress) => this.#update({ online: true, progress, cachedCustomers: progress.done }),
    );
    try {
      await this.#snapshot.done;
    } catch (error) {
      // The worker talks to one instance; when it is lost, the retry goes to the next one.
      if (error instanceof CodedError && error.code === 'offline' && !this.stopped) client.endpoints.unreachable(backendUrl);
      throw error;
    } finally {
      this.#snapshot = null;
    }
  }

  async #pushOutbox(): Promise<void> {
    const { store, client } = this.#o;
    for (let batch = 0; batch < MAX_PUSH_BATCHES_PER_PASS; batch++) {
      const rows = store.pendingOutbox(this.#tuning.pushBatchSize);
      if (rows.length === 0) return;
      store.markPushAttempt(rows.map((row) => row.clientId));
      // Important: if this response is lost the same entries go again on the next pass; the
      // backend applies each clientId once and answers `duplicate` with the stored contact id.
      const response = await client.push(
        rows.map((row) => row.entry),
        { signal: this.#stop.signal },
      );
      store.recordPushResults(response.results);
      this.#refreshOutboxCounts();
      const typeOf = new Map(rows.map((row) => [row.clientId, row.entry.type]));
      const delivery: OutboxDelivery = {
        entries: response.results.map((result) => ({
          clientId: result.clientId,
          // The backend answers for exactly the entries sent, so the lookup always finds one.
          type: typeOf.get(result.clientId) ?? 'add_note',
          outcome: result.status === 'rejected' ? 'rejected' : 'sent',
          error: result.status === 'rejected' ? (result.error ?? null) : null,
        })),
      };
      for (const listener of this.#deliveryListeners) listener(delivery);
    }
    this.#wanted = true;
  }

  /**
   * Brings the cache in line with the user's current rights: purges what they no longer allow
   * and, when they grew, schedules a new snapshot (returns true then: the pass should end).
   */
  async #honourRights(rights: User): Promise<boolean> {
    const { store, logger } = this.#o;
    this.#rights = rights;
    const previousRights = store.getMeta(META.rights);
    const change = compareRights(store, rights);
    if (change.shrank) {
      const purged = await purgeInBatches(store, rights);
      const purgedCalls = store.purgeBranchCalls(rights);
      logger.info('rights shrank: purged customers from the cache', { purged, purgedCalls });
    }
    saveRights(store, rights);
    if (!change.grew) return false;
    // The feed does not resend customers that merely became visible: take the snapshot again,
    // of only those when the cache was complete for the rights before.
    const how = restartSnapshotForGrownRights(store, previousRights);
    logger.info(how === 'grown' ? 'rights grew: fetching the customers that became visible' : 'rights grew: taking the snapshot again', {});
    this.#wantPull();
    return true;
  }

  async #pullChanges(): Promise<void> {
    const { store, client } = this.#o;
    let cursor = Number(store.getMeta(META.cursor) ?? 0);
    for (let pages = 0; pages < MAX_CHANGE_PAGES_PER_PASS; pages++) {
      const page = await client.changes(cursor, this.#tuning.changesPageSize, { signal: this.#stop.signal });
      store.db.transaction(() => {
        store.applyChanges(page.changes);
        store.setMeta(META.cursor, String(page.cursor));
        store.setMeta(META.callsSince, page.callsSince);
        store.pruneBranchCallsBefore(callsWindowStart(page.callsSince, new Date()));
      })();
      cursor = page.cursor;
      if (await this.#honourRights(page.rights)) return;
      if (!page.hasMore) return;
    }
    this.#wantPull();
  }

  /**
   * What still deserves a sentence after a pass went through: a rebuild that lost unsent
   * entries stays until the session ends (IT must hear of it); the rest is over.
   */
  #lastingProblem(): CacheProblem | null {
    const { cacheProblem, lostOutbox } = this.#status;
    if (cacheProblem === 'rebuilt_unreadable' || (cacheProblem === 'rebuilt_corrupt' && (lostOutbox ?? 0) > 0)) return cacheProblem;
    return null;
  }

  #passFailed(error: unknown): void {
    if (this.stopped) return;
    const { logger, store } = this.#o;
    if (isCorruptionError(error) && this.#o.onCacheDamaged) {
      logger.error('the local cache is damaged; it is rebuilt from the server', { error: describe(error) });
      this.#update({ phase: 'error', lastError: 'The local cache is damaged; rebuilding it from the server', progress: null });
      this.#o.onCacheDamaged(error);
      return;
    }
    const problem = cacheProblemOf(error);
    if (problem === 'read_only' || problem === 'disk_full') {
      logger.error('the local cache cannot be written', { problem, error: describe(error) });
      let counts = { pending: this.#status.pendingOutbox };
      try {
        counts = store.outboxCounts();
      } catch {
        // Reads failing too: keep the last known count.
      }
      this.#update({
        phase: 'error',
        pendingOutbox: counts.pending,
        lastError: problem === 'disk_full'
          ? 'The disk holding the local cache is full: the cache is not updated and new notes cannot be saved. Free some disk space.'
          : 'The local cache folder is read-only: the cache is not updated and new notes cannot be saved. Ask IT to make it writable.',
        cacheProblem: problem,
      });
      this.#retryLater(Math.max(backoffDelay(this.#failures++, this.#tuning.backoff), this.#tuning.cacheProblemRetryMs));
      return;
    }
    const coded = error instanceof CodedError ? error : null;
    if (coded?.code === 'unauthenticated') {
      this.#update({ phase: 'signed_out', lastError: coded.message, progress: null });
      this.#o.onSessionExpired(coded.message);
      return;
    }
    if (coded?.code === 'conflict') {
      // The backend's change log is behind this cache (a restored or reset backend): what is
      // cached cannot be trusted, so the next pass starts over with a fresh snapshot.
      logger.warn('the backend does not know this cache\'s sync position; starting over', {});
      store.clearSyncedData();
    } else if (coded?.code !== 'offline') {
      logger.error('sync pass failed', { code: coded?.code ?? 'internal', error: describe(error) });
    }
    const offline = coded?.code === 'offline';
    const counts = store.outboxCounts();
    this.#update({
      phase: offline ? 'offline' : 'error',
      online: offline ? false : this.#status.online,
      pendingOutbox: counts.pending,
      lastError: coded ? coded.message : 'Sync failed unexpectedly',
    });
    this.#retryLater(backoffDelay(this.#failures++, this.#tuning.backoff));
  }

  #retryLater(delay: number): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.requestSync();
    }, delay);
    this.#retryTimer.unref();
  }

  /** The event stream: a `changed` poke requests a pass; reconnects with backoff. */
  async #runEvents(): Promise<void> {
    const { client } = this.#o;
    let streamFrom: string | null = null;
    await followServerSentEvents({
      signal: this.#stop.signal,
      backoff: this.#tuning.backoff,
      silenceMs: this.#tuning.eventsSilenceMs,
      open: async (connection) => {
        const opened = await client.openEvents(connection);
        streamFrom = opened.baseUrl;
        this.#deltasLive = false;
        // An offer made while the stream was down was announced to nobody.
        this.#o.onCallMeOffer?.();
        return opened.body;
      },
      // Any request the core made (a status change, a lookup) that the backend answered ends
      // the stream's wait: events are back with the backend, not a backoff later.
      subscribeReachable: (reachable) => client.onAnswered(reachable),
      onEvent: (event) => {
        if (event.event === 'changed') this.#poked(event.data);
        else if (event.event === 'callme') this.#o.onCallMeOffer?.();
      },
      onError: (error) => {
        if (error instanceof CodedError && error.code === 'unauthenticated') {
          if (!this.stopped) this.#passFailed(error);
          return 'stop';
        }
        // A stream that broke or went silent is the first sign of a lost instance: the next
        // request and the next stream go to another instance (if there is one), and a pass now
        // moves there or says offline at once instead of at the next poll.
        if (streamFrom !== null && !this.stopped) client.endpoints.unreachable(streamFrom);
        streamFrom = null;
        this.#deltasLive = false;
        if (!this.stopped && this.#status.online) void this.requestSync();
      },
    });
  }

  /** While offline or backing off, a request that succeeded ends the wait for the retry. */
  #backendAnswered(): void {
    if (this.stopped || !this.#retryTimer) return;
    // The backend answering does not make a read-only folder writable or free the disk.
    if (this.#status.cacheProblem === 'read_only' || this.#status.cacheProblem === 'disk_full') return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    void this.requestSync();
  }

  #poked(data: string): void {
    let event: ChangedEvent | null = null;
    try {
      const parsed = ChangedEvent.safeParse(JSON.parse(data));
      if (parsed.success) event = parsed.data;
      else this.#o.logger.warn('a `changed` event did not match its schema; pulling', { error: parsed.error.message });
    } catch {
      // A poke without a readable sequence still means "something changed".
    }
    if (event?.changes !== undefined) this.#deltasLive = true;
    if (event?.changes !== undefined && event.rights !== true && this.#running !== null && this.#heldDeltas.length < MAX_HELD_DELTAS) {
      this.#heldDeltas.push(event);
      return;
    }
    if (event && this.#appliedDelta(event, false)) return;
    // A rights poke names no new change (rights are not in the change log) but the pull
    // brings the new rights, and with them the purge: always pull.
    const seq = event && event.rights !== true ? event.seq : Number.POSITIVE_INFINITY;
    const cursor = Number(this.#o.store.getMeta(META.cursor) ?? -1);
    if (seq > cursor || !this.#status.online || this.#status.pendingOutbox > 0 || this.#status.phase !== 'idle') {
      void this.requestSync();
    }
  }

  /**
   * Applies a delta poke (shared/api.ts `ChangedEvent`) without pulling, when it is exactly what
   * a pull would bring: the cache is idle and up to date but for the delta (its cursor within
   * `[from, seq)`), no pass is running (a pass may hold a page read before the delta and moves
   * the cursor itself; `passEnded`: called by the passes' loop between two passes), nothing
   * waits in the outbox (push before pull, see the class comment) and the rights are not
   * changing. False: the caller pulls as for a bare poke.
   */
  #appliedDelta(event: ChangedEvent, passEnded: boolean): boolean {
    const { store } = this.#o;
    if (event.from === undefined || event.changes === undefined || event.rights === true) return false;
    if ((this.#running !== null && !passEnded) || !this.#status.online || this.#status.phase !== 'idle' || this.#status.pendingOutbox > 0) return false;
    const cursor = Number(store.getMeta(META.cursor) ?? -1);
    if (cursor < event.from) return false;
    if (cursor >= event.seq) return true;
    // Changes at or below the cursor are in the cache already (the cursor came from a pull that read past `from`).
    const changes = event.changes.filter((change) => change.seq > cursor);
    const now = new Date().toISOString();
    try {
      store.db.transaction(() => {
        store.applyChanges(changes);
        store.setMeta(META.cursor, String(event.seq));
        store.setMeta(META.lastSyncedAt, now);
      })();
    } catch (error) {
      // Nothing was applied (one transaction): the pass pulls and reports what is wrong.
      this.#o.logger.warn('a delta poke could not be applied; pulling', { error: describe(error) });
      return false;
    }
    const customersChanged = changes.some((change) => change.op === 'upsert_customer' || change.op === 'delete_customer');
    this.#update({ lastSyncedAt: now, ...(customersChanged ? { cachedCustomers: store.countCustomers() } : {}) });
    return true;
  }

  #refreshOutboxCounts(): void {
    const counts = this.#o.store.outboxCounts();
    this.#update({
      pendingOutbox: counts.pending,
      lastError: this.#status.phase === 'idle' ? rejectedSummary(counts.rejected, counts.firstRejectedError) : this.#status.lastError,
    });
  }

  #update(patch: Partial<SyncStatus>): void {
    this.#status = { ...this.#status, ...patch };
    const json = JSON.stringify(this.#status);
    if (json === this.#lastEmitted) return;
    this.#lastEmitted = json;
    const snapshot = this.status();
    for (const listener of this.#listeners) listener(snapshot);
  }
}

/**
 * Purges in batches, yielding to the event loop between them: a purge of many customers
 * (rights shrank a lot) must not freeze the window or the IPC.
 */
export async function purgeInBatches(store: CacheStore, rights: UserRights): Promise<number> {
  let total = 0;
  for (;;) {
    const purged = store.purgeInvisible(rights, PURGE_BATCH);
    total += purged;
    if (purged < PURGE_BATCH) return total;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function savedRights(store: CacheStore): UserRights | null {
  const json = store.getMeta(META.rights);
  return json === null ? null : (JSON.parse(json) as UserRights);
}

function rejectedSummary(rejected: number, firstError: string | null): string | null {
  if (rejected === 0) return null;
  const notes = rejected === 1 ? '1 note was' : `${rejected} notes were`;
  return `${notes} refused by the backend and not saved: ${firstError ?? 'rejected'}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
