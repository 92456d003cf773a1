import type { SnapshotPage } from '../../../shared/api.js';
import type { User } from '../../../shared/domain.js';
import type { BackendClient, RequestTiming } from '../backend-client.js';
import type { CacheStore } from '../cache/cache-store.js';
import { branchCallRightsShrank, rightsShrank } from '../cache/visibility.js';

/** Keys of the sync state in the cache's meta table. */
export const META = {
  /**
   * 'complete' once the first snapshot has been fully written; 'indexing' while the search
   * index of a deferred snapshot is being built after its last page.
   */
  snapshotState: 'snapshot.state',
  /** '1' when this snapshot writes pages without the search index (it began on an empty cache). */
  snapshotDeferredIndex: 'snapshot.deferredIndex',
  /** The last customer rid the build after a deferred snapshot's last page put into the search index. */
  snapshotIndexedRid: 'snapshot.indexedRid',
  /** Cursor of the next snapshot page (the last customer id written). */
  snapshotAfter: 'snapshot.after',
  snapshotHighWaterSeq: 'snapshot.highWaterSeq',
  snapshotReceived: 'snapshot.received',
  snapshotTotal: 'snapshot.total',
  /**
   * While a snapshot taken again because rights grew runs: JSON of the rights the cache was
   * complete for. Its pages hold only what became visible (the backend's `grownFrom`).
   */
  snapshotGrownFrom: 'snapshot.grownFrom',
  /** Change-log sequence up to which the cache is current. */
  cursor: 'sync.cursor',
  lastSyncedAt: 'sync.lastSyncedAt',
  /** JSON of the user's rights as the backend last reported them. */
  rights: 'sync.rights',
  /** The user's previous sign-in as the feed last reported it: "calls for you" lists calls since then. */
  callsSince: 'sync.callsSince',
} as const;

/**
 * `wal_autocheckpoint` of the snapshot worker's connection, in pages (SQLite's default is 1,000),
 * and of bench:cache-write. Each checkpoint copies the pages committed since the last one from the
 * WAL into the cache file, decrypting and encrypting each again. 100,000 (a WAL of up to 400 MB)
 * copied no less in all at 60,000 customers: it moved the checkpoints into the index build.
 */
export const SNAPSHOT_WAL_AUTOCHECKPOINT = 10_000;

/** Bounds the index merge after a snapshot (a million customers need a few hundred steps). */
const MAX_MERGE_STEPS = 100_000;
/**
 * Customers put into the search index per transaction (and checkpoint) after a deferred
 * snapshot. Each transaction touches most pages of the index, so fewer are cheaper in
 * all, while each holds the write lock longer (the main thread's writes wait for it).
 */
const INDEX_BATCH = 50_000;

export interface SnapshotProgress {
  done: number;
  total: number;
}

/** Where a snapshot's time went, in milliseconds summed over its pages (for `bench:sync`). */
export interface SnapshotStages {
  /**
   * Backend (from Server-Timing): the page's queries, whose database writes the rows' JSON, then
   * putting the body together.
   */
  serverQuery: number;
  serverSerialise: number;
  /**
   * Request sent until the whole body was read, less the two server stages: the transfer, and
   * the time a page that had arrived waited while the client wrote the previous one.
   */
  transfer: number;
  /** Time the client had nothing to do but wait for the next page (what the backend and transfer cost on the critical path). */
  waited: number;
  parse: number;
  /** Checking every field of the page and rebuilding its records (shared/snapshot-wire.ts). */
  validate: number;
  /** Writing the pages (and their checkpoints) into the cache. */
  insert: number;
  /** Building or merging the search index after the last page. */
  index: number;
  pages: number;
  bytes: number;
}

export function emptySnapshotStages(): SnapshotStages {
  return { serverQuery: 0, serverSerialise: 0, transfer: 0, waited: 0, parse: 0, validate: 0, insert: 0, index: 0, pages: 0, bytes: 0 };
}

function addRequestTiming(stages: SnapshotStages, timing: RequestTiming): void {
  const server = new Map<string, number>();
  for (const part of (timing.serverTiming ?? '').split(',')) {
    const match = /^\s*([\w-]+)\s*;\s*dur=([\d.]+)/.exec(part);
    if (match?.[1] && match[2]) server.set(match[1], Number(match[2]));
  }
  const db = server.get('db') ?? 0;
  const json = server.get('json') ?? 0;
  stages.serverQuery += db;
  stages.serverSerialise += json;
  stages.transfer += Math.max(0, timing.responseMs - db - json);
  stages.parse += timing.parseMs;
  stages.validate += timing.validateMs;
  stages.bytes += timing.bytes;
  stages.pages += 1;
}

export function snapshotComplete(store: CacheStore): boolean {
  return store.getMeta(META.snapshotState) === 'complete';
}

export function readProgress(store: CacheStore): SnapshotProgress {
  return {
    done: Number(store.getMeta(META.snapshotReceived) ?? 0),
    total: Number(store.getMeta(META.snapshotTotal) ?? 0),
  };
}

export interface RightsChange {
  /** Some cached customer may no longer be readable: purge before saving the new rights. */
  shrank: boolean;
  /** Some customer became readable that the feed will not resend: take the snapshot again. */
  grew: boolean;
}

/** How `rights` differ from the rights the cache was last synced with (customers, and calls of "calls for you"). */
export function compareRights(store: CacheStore, rights: User): RightsChange {
  const previousJson = store.getMeta(META.rights);
  if (previousJson === null) return { shrank: false, grew: false };
  const previous = JSON.parse(previousJson) as User;
  return {
    shrank: rightsShrank(previous, rights) || branchCallRightsShrank(previous, rights),
    grew: rightsShrank(rights, previous) || branchCallRightsShrank(rights, previous),
  };
}

/**
 * Saves the rights the cache now honours. Important: only after the purge they required is
 * complete, so an interrupted purge is redone from the saved (older) rights on the next sync.
 */
export function saveRights(store: CacheStore, rights: User): void {
  store.setMeta(META.rights, JSON.stringify(rights));
}

/**
 * Marks the snapshot as to be taken again: on the next pass pages are fetched from the start
 * and upserted over what is cached. The delta cursor is kept, so deletions since then still
 * arrive through the feed.
 */
export function restartSnapshot(store: CacheStore): void {
  store.db.transaction(() => {
    for (const key of [
      META.snapshotState,
      META.snapshotAfter,
      META.snapshotHighWaterSeq,
      META.snapshotReceived,
      META.snapshotTotal,
      META.snapshotDeferredIndex,
      META.snapshotIndexedRid,
      META.snapshotGrownFrom,
    ]) {
      store.deleteMeta(key);
    }
    // A deferred index build this abandons would never restore merging as the index is written.
    store.setSearchIndexMerging('incremental');
  })();
}

/**
 * Rights grew: the snapshot is taken again, but only for the customers that became visible.
 * That needs a complete cache for the rights it had (`previousRightsJson`); otherwise (a first
 * snapshot or an earlier partial one still running) the whole snapshot is taken again.
 */
export function restartSnapshotForGrownRights(store: CacheStore, previousRightsJson: string | null): 'grown' | 'whole' {
  const partial = previousRightsJson !== null && snapshotComplete(store) && store.getMeta(META.snapshotGrownFrom) === null;
  store.db.transaction(() => {
    restartSnapshot(store);
    if (partial) {
      const previous = JSON.parse(previousRightsJson) as User;
      store.setMeta(META.snapshotGrownFrom, JSON.stringify({ role: previous.role, branch: previous.branch, customerLimitAuthority: previous.customerLimitAuthority }));
    }
  })();
  return partial ? 'grown' : 'whole';
}

/**
 * Takes (or resumes) the first snapshot: pages of whole customer records, each page written
 * with its cursor and progress in one transaction, so an interruption at any point resumes
 * after the last page written. Runs in the snapshot worker (see snapshot-worker.ts).
 *
 * The next page is requested before the current one is written, so the backend reads it while
 * the cache writes. A snapshot that begins on an empty cache writes its pages without the
 * search index and builds it after the last page (state 'indexing') in checkpointed batches, so
 * that a kill during the build also resumes where it stopped.
 */
export async function takeSnapshot(
  store: CacheStore,
  client: BackendClient,
  pageSize: number,
  onProgress: (progress: SnapshotProgress) => void,
  stages?: SnapshotStages,
): Promise<void> {
  if (snapshotComplete(store)) return;
  if (store.getMeta(META.snapshotState) !== 'indexing') await fetchPages(store, client, pageSize, onProgress, stages);
  const indexStarted = performance.now();
  buildDeferredIndex(store);
  for (let step = 0; step < MAX_MERGE_STEPS && store.mergeSearchIndexStep(); step++);
  if (stages) stages.index += performance.now() - indexStarted;
}

interface FetchedPage {
  page: SnapshotPage;
  timing: RequestTiming;
}

async function fetchPages(
  store: CacheStore,
  client: BackendClient,
  pageSize: number,
  onProgress: (progress: SnapshotProgress) => void,
  stages: SnapshotStages | undefined,
): Promise<void> {
  const after = store.getMeta(META.snapshotAfter);
  const storedHighWater = store.getMeta(META.snapshotHighWaterSeq);
  let deferIndex = store.getMeta(META.snapshotDeferredIndex) === '1';
  if (!deferIndex && after === null && store.countCustomers() === 0) {
    store.setMeta(META.snapshotDeferredIndex, '1');
    deferIndex = true;
  }
  const grownFrom = store.getMeta(META.snapshotGrownFrom);
  let { done } = readProgress(store);
  const fetchPage = async (pageAfter: string | null, highWaterSeq: number | null): Promise<FetchedPage> => {
    const timing = {} as RequestTiming;
    const page = await client.snapshot({ after: pageAfter, highWaterSeq, limit: pageSize, grownFrom }, { timing });
    return { page, timing };
  };
  let pending = fetchPage(after, storedHighWater === null ? null : Number(storedHighWater));
  for (;;) {
    const waitStarted = performance.now();
    const { page, timing } = await pending;
    if (stages) {
      // Parse and check happen inside the request: they are the client's work, not waiting.
      stages.waited += Math.max(0, performance.now() - waitStarted - timing.parseMs - timing.validateMs);
      addRequestTiming(stages, timing);
    }
    if (page.nextAfter !== null) {
      pending = fetchPage(page.nextAfter, page.highWaterSeq);
      // Settled by the next turn of the loop; a failure then is not an unhandled rejection now.
      pending.catch(() => undefined);
      // One turn of the event loop so that the request leaves before the synchronous write.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const insertStarted = performance.now();
    const pageHighWater = page.highWaterSeq;
    done += page.records.length;
    // A purge deletes incidents and contacts by ON DELETE CASCADE: only then are SQLite's
    // foreign keys needed; otherwise the page goes in the cheaper bulk transaction.
    const shrank = compareRights(store, page.rights).shrank;
    const transaction = <T>(work: () => T): T => (shrank ? store.db.transaction(work)() : store.bulkTransaction(work));
    transaction(() => {
      store.upsertRecords(page.records, { deferSearchIndex: deferIndex });
      store.upsertBranchCalls(page.branchCalls);
      if (shrank) {
        store.purgeInvisible(page.rights);
        store.purgeBranchCalls(page.rights);
      }
      saveRights(store, page.rights);
      store.setMeta(META.snapshotHighWaterSeq, String(pageHighWater));
      store.setMeta(META.snapshotReceived, String(done));
      store.setMeta(META.snapshotTotal, String(page.total));
      if (page.nextAfter === null) {
        store.deleteMeta(META.snapshotAfter);
        store.deleteMeta(META.snapshotGrownFrom);
        store.setMeta(META.snapshotState, deferIndex ? 'indexing' : 'complete');
        // A first snapshot starts the feed at its high-water mark; a retaken one keeps the
        // older cursor so deletions in between are not skipped.
        if (store.getMeta(META.cursor) === null) store.setMeta(META.cursor, String(pageHighWater));
      } else {
        store.setMeta(META.snapshotAfter, page.nextAfter);
      }
    });
    if (stages) stages.insert += performance.now() - insertStarted;
    onProgress({ done, total: Math.max(page.total, done) });
    if (page.nextAfter === null) return;
  }
}

/** Indexes up to `size` customers after the checkpoint, with the checkpoint; false when none was left. */
function indexBatch(store: CacheStore, size: number): boolean {
  return store.db.transaction(() => {
    const last = store.indexCustomersAfter(Number(store.getMeta(META.snapshotIndexedRid) ?? 0), size);
    if (last === null) return false;
    store.setMeta(META.snapshotIndexedRid, String(last));
    return true;
  })();
}

/**
 * The search index of a deferred snapshot after its last page, in batches, each with its
 * checkpoint. The trigram index merges nothing while it is built (again after a kill) and is
 * merged once after (`takeSnapshot`); the state that ends the build restores merging as it writes.
 */
function buildDeferredIndex(store: CacheStore): void {
  if (store.getMeta(META.snapshotState) !== 'indexing') return;
  store.setSearchIndexMerging('deferred');
  while (indexBatch(store, INDEX_BATCH));
  store.db.transaction(() => {
    store.setSearchIndexMerging('incremental');
    store.setMeta(META.snapshotState, 'complete');
    store.deleteMeta(META.snapshotDeferredIndex);
    store.deleteMeta(META.snapshotIndexedRid);
  })();
}
