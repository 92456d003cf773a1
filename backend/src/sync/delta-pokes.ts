import type { User } from '../../../shared/domain.js';
import { frameEvent } from '../http/server-sent-events.js';
import { assembleChangesPage, type ChangeSource } from './changes.js';
import { changesDeltaJson } from './changes-json.js';
import type { ChangeFeed, FeedLogger } from './feed.js';
import type { RecentChanges } from './recent-changes.js';

/**
 * Pokes that carry the changes (issue 13 item 7). A bare `{ seq }` poke makes every app of the
 * tenant pull: with a thousand operators each writing a note every ten seconds that was a
 * thousand pulls a second, each one a request with its authentication, filter and JSON (about
 * 1.4 ms of backend CPU each), more than two cores could serve beside the agents. Here, when a
 * tenant's change log advances, this instance reads the new entries ONCE (from the recent
 * changes in memory, recent-changes.ts), filters them once per distinct rights profile with the
 * pull's own filter (changes.ts `assembleChangesPage`), serialises and encodes each profile's
 * delta once, and writes the same bytes to every stream of that profile. The app applies a
 * delta that starts at or before its cursor and pulls only on a gap.
 *
 * A delta is not sent (the streams get the bare `{ seq }` poke, paced as before, and the apps
 * pull) when memory cannot serve the entries (a visibility change, a deletion of a customer or
 * a branch call: those need whole records or the user's own call scopes, read from the
 * database by the pull), when the batch is larger than DELTA_MAX_ENTRIES or DELTA_MAX_BYTES,
 * when a stream's user's rights are being re-read after a change, and when reading fails.
 *
 * Deltas are batched per tenant: the first change after a quiet spell is sent after
 * DELTA_WINDOW_PER_STREAM_MS per open stream (at most DELTA_WINDOW_MAX_MS), and while a batch
 * is being sent the next one gathers. Two operators see each other's notes at once; a thousand
 * get about two deltas a second of 50 notes each, instead of 100 writes per stream per second.
 * The window is what the fan-out costs: each stream write is a system call whatever its size
 * (bench:agents, 1,000 streams: 250 ms at most gave 2,600-3,100 writes/s and 65 ms/s of CPU
 * writing; 500 ms, 1,350-1,600 writes/s and 32-35 ms/s, and 2.0-2.25 instead of 2.55-2.66 ms of
 * backend CPU per request), while a note still reaches everyone well within the 1 s target.
 *
 * Each backend instance does this for its own streams on its own feed (PostgreSQL NOTIFY on
 * several instances): each reads the log once per tenant.
 */
export const DELTA_MAX_ENTRIES = 500;
export const DELTA_MAX_BYTES = 512 * 1024;
export const DELTA_WINDOW_PER_STREAM_MS = 0.5;
export const DELTA_WINDOW_MAX_MS = 500;
/**
 * Streams are written in slices, one per turn of the event loop, so that requests are served
 * between them: a slice is sized to take about SLICE_BUDGET_MS of wall time, from the time the
 * previous slices took per stream. A fixed 500 streams (about 25 µs each, system calls included,
 * a delta of 50 notes) held the loop 15-70 ms as the machine's load went from quiet to 7, and
 * every request whose answer arrived meanwhile waited that long (bench:agents: the tail of the
 * pushes). The floor keeps a starved process from taking seconds per delta (100 streams a turn
 * at load 15 did, as every turn serves all the I/O that waits).
 */
const SLICE_BUDGET_MS = 6;
const SLICE_MIN_STREAMS = 100;
const SLICE_MAX_STREAMS = 1_000;

/** One event stream, as the delta pokes see it. */
export interface DeltaStream {
  /**
   * The rights of the stream's user as last read; null while they are being re-read after a
   * change (the stream then gets bare pokes and the app pulls its new rights).
   */
  rights(): User | null;
  /** Writes a framed `changed` event (the same bytes for every stream of a profile). */
  sendFramed(framed: Buffer): void;
  /** The bare `{ seq }` poke, paced (poke-pacing.ts): the app pulls. */
  poke(seq: number): void;
}

/** What the delta pokes cost this instance since it started (logged, read by bench:agents). */
export interface FanOutCounters {
  /** Batches sent as deltas, and batches the apps had to pull (bare pokes). */
  deltas: number;
  bareBatches: number;
  /** Delta events written to streams, and their bytes. */
  streamWrites: number;
  bytesWritten: number;
  /** CPU time (user + system) spent writing the events to the streams, and building them. */
  writeCpuMs: number;
  buildCpuMs: number;
}

/** How often the counters are logged while deltas are being sent. */
const COUNTERS_LOG_INTERVAL_MS = 10_000;

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Each stream's rights are one object until they change (routes.ts), so its key is computed
 * once: a thousand streams' keys at every delta were 2 % of the backend's time in bench:agents.
 */
const profileKeys = new WeakMap<User, string>();

/**
 * What decides which changes a user receives from a page served from memory: the rights, not
 * who the user is. Important: pages with branch calls (whose visibility depends on the user's
 * id and scopes) are never served from memory (recent-changes.ts), so one representative user
 * per profile filters for all of its streams.
 */
function profileKey(user: User): string {
  let key = profileKeys.get(user);
  if (key === undefined) {
    const { id: _id, tenantId: _tenant, login: _login, displayName: _name, ...rights } = user;
    key = JSON.stringify(Object.entries(rights).sort(([a], [b]) => (a < b ? -1 : 1)));
    profileKeys.set(user, key);
  }
  return key;
}

class TenantDeltas {
  readonly streams = new Set<DeltaStream>();
  /** The position the last delta (or bare poke) brought the streams to; -1: none yet. */
  sentUpTo = -1;
  #target = -1;
  #timer: NodeJS.Timeout | null = null;
  #sending = false;
  #closed = false;
  readonly #unsubscribe: () => void;

  constructor(
    private readonly tenantId: string,
    private readonly owner: DeltaPokes,
    feed: ChangeFeed,
  ) {
    this.#unsubscribe = feed.subscribe(tenantId, (seq, rightsOf) => {
      if (rightsOf === undefined) this.changed(seq);
    });
  }

  changed(seq: number): void {
    if (this.#closed || seq <= this.#target) return;
    this.#target = seq;
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#unsubscribe();
  }

  #schedule(): void {
    if (this.#timer || this.#sending || this.#target <= this.sentUpTo) return;
    const window = Math.min(DELTA_WINDOW_MAX_MS, this.streams.size * DELTA_WINDOW_PER_STREAM_MS);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#sending = true;
      this.#send()
        .catch((error: unknown) => this.owner.log.warn({ err: error, tenantId: this.tenantId }, 'delta poke failed'))
        .finally(() => {
          this.#sending = false;
          if (!this.#closed) this.#schedule();
        });
    }, window);
  }

  async #send(): Promise<void> {
    const target = this.#target;
    const from = this.sentUpTo;
    const deltas = from < 0 ? null : await this.#build(from, target).catch((error: unknown) => {
      this.owner.log.warn({ err: error, tenantId: this.tenantId }, 'delta poke could not be read; the apps pull');
      return null;
    });
    if (deltas === null) {
      this.owner.counters.bareBatches++;
      this.sentUpTo = Math.max(this.sentUpTo, target);
      for (const stream of this.streams) stream.poke(target);
      return;
    }
    this.sentUpTo = Math.max(this.sentUpTo, deltas.seq);
    this.owner.counters.deltas++;
    const streams = [...this.streams];
    for (let start = 0, size = this.owner.streamsPerSlice; start < streams.length; start += size, size = this.owner.streamsPerSlice) {
      if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const written = cpuMs();
      const began = performance.now();
      const slice = streams.slice(start, start + size);
      for (const stream of slice) {
        if (!this.streams.has(stream)) continue;
        const user = stream.rights();
        // Important: checked again at the moment of writing. A stream whose rights changed
        // while the delta was built gets the bare poke, never changes filtered for other rights.
        const framed = user === null ? undefined : deltas.byProfile.get(profileKey(user));
        if (framed) {
          stream.sendFramed(framed);
          this.owner.counters.streamWrites++;
          this.owner.counters.bytesWritten += framed.length;
        } else {
          stream.poke(deltas.seq);
        }
      }
      // Important: Node hands a response's writes to its socket on the next tick (it corks it);
      // the system calls, most of the cost, happen there, before this promise resolves.
      await new Promise<void>((resolve) => process.nextTick(resolve));
      this.owner.counters.writeCpuMs += cpuMs() - written;
      this.owner.sliceTook(slice.length, performance.now() - began);
    }
  }

  /**
   * The framed delta after `from` of each rights profile among the streams; null when memory
   * cannot serve the entries or the batch is too large (the apps pull instead).
   */
  async #build(from: number, target: number): Promise<{ seq: number; byProfile: Map<string, Buffer> } | null> {
    const source = await this.owner.recent.sourceAfter(this.tenantId, from, DELTA_MAX_ENTRIES + 1, target);
    if (!source) return null;
    const representatives = new Map<string, User>();
    for (const stream of this.streams) {
      const user = stream.rights();
      if (user) representatives.set(profileKey(user), user);
    }
    // Measured from here: the read above may wait on the database while other requests run.
    const started = cpuMs();
    try {
      return await this.#filterAndFrame(source, from, target, representatives);
    } finally {
      this.owner.counters.buildCpuMs += cpuMs() - started;
    }
  }

  async #filterAndFrame(
    source: ChangeSource,
    from: number,
    target: number,
    representatives: ReadonlyMap<string, User>,
  ): Promise<{ seq: number; byProfile: Map<string, Buffer> } | null> {
    const byProfile = new Map<string, Buffer>();
    let seq = target;
    const callsSince = new Date().toISOString();
    for (const [key, user] of representatives) {
      const page = await assembleChangesPage(source, user, from, DELTA_MAX_ENTRIES, callsSince);
      if (page.hasMore) return null;
      seq = page.cursor;
      const framed = frameEvent('changed', changesDeltaJson(from, page.cursor, page.changes));
      if (framed.length > DELTA_MAX_BYTES) return null;
      byProfile.set(key, framed);
    }
    return { seq, byProfile };
  }
}

/** The delta pokes of one backend instance, per tenant. */
export class DeltaPokes {
  readonly #tenants = new Map<string, TenantDeltas>();
  readonly counters: FanOutCounters = { deltas: 0, bareBatches: 0, streamWrites: 0, bytesWritten: 0, writeCpuMs: 0, buildCpuMs: 0 };
  #loggedBatches = 0;
  readonly #logTimer: NodeJS.Timeout;
  /** How many streams the next slice writes (SLICE_BUDGET_MS). */
  streamsPerSlice = 250;

  constructor(
    private readonly feed: ChangeFeed,
    readonly recent: RecentChanges,
    readonly log: FeedLogger,
  ) {
    // The fan-out's cost, for operations and bench:agents: cumulative, logged while it grows.
    this.#logTimer = setInterval(() => {
      const batches = this.counters.deltas + this.counters.bareBatches;
      if (batches === this.#loggedBatches) return;
      this.#loggedBatches = batches;
      log.info({ deltaPokes: { ...this.counters, atMs: Math.round(performance.now()) } }, 'delta pokes');
    }, COUNTERS_LOG_INTERVAL_MS);
    this.#logTimer.unref();
  }

  close(): void {
    clearInterval(this.#logTimer);
  }

  /** A slice of `streams` writes took `ms`: the next slice is sized to the budget at that pace. */
  sliceTook(streams: number, ms: number): void {
    if (streams < this.streamsPerSlice) return;
    const fitting = Math.round((SLICE_BUDGET_MS * streams) / Math.max(ms, 0.001));
    this.streamsPerSlice = Math.min(SLICE_MAX_STREAMS, Math.max(SLICE_MIN_STREAMS, fitting));
  }

  /**
   * A stream of this tenant read the change log at `seq` as it opened (and was poked with it):
   * the first delta starts there, rather than after a bare poke.
   */
  opened(tenantId: string, seq: number): void {
    const tenant = this.#tenants.get(tenantId);
    if (!tenant || tenant.sentUpTo >= 0) return;
    tenant.sentUpTo = seq;
    this.recent.follow(tenantId, seq);
  }

  /** Sends this stream its tenant's deltas until the returned function is called. */
  add(tenantId: string, stream: DeltaStream): () => void {
    let tenant = this.#tenants.get(tenantId);
    if (!tenant) {
      tenant = new TenantDeltas(tenantId, this, this.feed);
      this.#tenants.set(tenantId, tenant);
    }
    tenant.streams.add(stream);
    const joined = tenant;
    return () => {
      joined.streams.delete(stream);
      if (joined.streams.size > 0 || this.#tenants.get(tenantId) !== joined) return;
      joined.close();
      this.#tenants.delete(tenantId);
    };
  }
}
