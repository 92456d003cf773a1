import { parentPort, workerData } from 'node:worker_threads';
import type { CountryCode } from 'libphonenumber-js';
import { CodedError } from '../../../shared/result.js';
import { BackendClient } from '../backend-client.js';
import { cacheProblemOf } from '../cache/cache-health.js';
import { CacheStore } from '../cache/cache-store.js';
import { openCache } from '../cache/open-cache.js';
import type { Logger } from '../logger.js';
import { SNAPSHOT_WAL_AUTOCHECKPOINT, takeSnapshot } from './snapshot.js';
import type { SnapshotWorkerData, SnapshotWorkerMessage } from './snapshot-runner.js';

/**
 * Entry point of the snapshot worker thread. It owns its own write connection to the cache
 * file, so the bulk writes of the first sync never block the main thread (and with it the
 * window and IPC). Messages to the parent: progress per page, then done or error.
 */
const port = parentPort;
if (!port) throw new Error('snapshot-worker.ts runs only as a worker thread');
const data = workerData as SnapshotWorkerData;
const post = (message: SnapshotWorkerMessage) => port.postMessage(message);
const log =
  (level: keyof Logger) =>
  (message: string, fields?: Record<string, unknown>): void =>
    post({ type: 'log', level, message, fields });
const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

async function run(): Promise<void> {
  const db = openCache(data.cacheFile, { key: Buffer.from(data.cacheKeyHex, 'hex') });
  try {
    // Bulk load: checkpoint less often; the main thread's reads see each committed page anyway.
    db.pragma(`wal_autocheckpoint = ${SNAPSHOT_WAL_AUTOCHECKPOINT}`);
    const store = new CacheStore(db, { logger, region: data.region as CountryCode });
    const client = new BackendClient(data.backendUrl, data.token);
    await takeSnapshot(store, client, data.pageSize, (progress) => post({ type: 'progress', ...progress }));
    db.pragma('wal_checkpoint(PASSIVE)');
  } finally {
    db.close();
  }
}

run().then(
  () => post({ type: 'done' }),
  (error: unknown) => {
    if (error instanceof CodedError) post({ type: 'error', code: error.code, message: error.message });
    else {
      logger.error('snapshot worker failed', { error: error instanceof Error ? error.stack : String(error) });
      const sqliteCode = (error as { code?: unknown } | null)?.code;
      if (typeof sqliteCode === 'string' && cacheProblemOf(error) !== null) {
        post({ type: 'error', code: 'internal', message: error instanceof Error ? error.message : String(error), sqliteCode });
      } else {
        post({ type: 'error', code: 'internal', message: 'The first sync failed unexpectedly' });
      }
    }
  },
);
