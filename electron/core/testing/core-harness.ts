import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { IpcChannel, IpcRequest, IpcResult, SyncStatus } from '../../../shared/ipc.js';
import type { Result } from '../../../shared/result.js';
import { FileCacheKeyStore, type CacheKeyStore } from '../cache/cache-keys.js';
import { createCore, type Core } from '../core.js';
import { createMemoryLogger } from '../logger.js';
import type { SyncTuning } from '../sync/sync-engine.js';
import type { TelephonyTuning } from '../telephony.js';
import { MemoryTokenStore, type TokenStore } from '../token-store.js';

/** A core on a temp data dir with a recording logger, and typed helpers to drive it. */
export interface TestCore {
  core: Core;
  logger: ReturnType<typeof createMemoryLogger>;
  tokenStore: TokenStore;
  dataDir: string;
  statuses: SyncStatus[];
  events: { event: string; payload: unknown }[];
  call<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<Result<IpcResult<C>>>;
  /** Like `call`, but throws unless the result is ok. */
  value<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<IpcResult<C>>;
  /** Resolves with the first status (current or later) that matches. */
  waitForStatus(match: (status: SyncStatus) => boolean, what: string): Promise<SyncStatus>;
  dispose(): Promise<void>;
}

/** Sync tuned for tests: retries come fast, and only pokes or explicit requests start a pass. */
export const TEST_SYNC_TUNING: Partial<SyncTuning> = {
  pollIntervalMs: 3_600_000,
  backoff: { initialMs: 20, maxMs: 200 },
};

/** Bounds a wait on an event so a broken test fails with a message instead of hanging. */
const WAIT_LIMIT_MS = 30_000;

export function startTestCore(options: {
  backendUrl: string;
  dataDir?: string;
  tokenStore?: TokenStore;
  /** The browser shell's key file by default, so a core restarted on the same folder opens its cache. */
  cacheKeys?: CacheKeyStore;
  syncTuning?: Partial<SyncTuning>;
  telephonyTuning?: Partial<TelephonyTuning>;
}): TestCore {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-core-'));
  const logger = createMemoryLogger();
  const tokenStore = options.tokenStore ?? new MemoryTokenStore();
  const core = createCore({
    dataDir,
    backendUrl: options.backendUrl,
    tokenStore,
    cacheKeys: options.cacheKeys ?? new FileCacheKeyStore(),
    logger,
    syncTuning: { ...TEST_SYNC_TUNING, ...options.syncTuning },
    telephonyTuning: { backoff: TEST_SYNC_TUNING.backoff, ...options.telephonyTuning },
  });
  const statuses: SyncStatus[] = [];
  const events: { event: string; payload: unknown }[] = [];
  const waiters = new Set<(status: SyncStatus) => void>();
  core.onEvent((event, payload) => {
    events.push({ event, payload });
    if (event === 'sync:status') {
      statuses.push(payload);
      for (const waiter of [...waiters]) waiter(payload);
    }
  });
  const call = <C extends IpcChannel>(channel: C, payload: IpcRequest<C>) =>
    core.invoke(channel, payload) as Promise<Result<IpcResult<C>>>;
  return {
    core,
    logger,
    tokenStore,
    dataDir,
    statuses,
    events,
    call,
    async value(channel, payload) {
      const result = await call(channel, payload);
      if (!result.ok) throw new Error(`${channel} failed: ${result.error.code}: ${result.error.message}`);
      return result.value;
    },
    async waitForStatus(match, what) {
      return new Promise<SyncStatus>((resolve, reject) => {
        const limit = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no sync status ${what}; last: ${JSON.stringify(statuses.at(-1))}`));
        }, WAIT_LIMIT_MS);
        const check = (status: SyncStatus) => {
          if (!match(status)) return;
          clearTimeout(limit);
          waiters.delete(check);
          resolve(status);
        };
        waiters.add(check);
        void call('sync:status', undefined).then((current) => {
          if (current.ok) check(current.value);
        });
      });
    },
    dispose: () => core.dispose(),
  };
}

/** Listens on 127.0.0.1 (port 0 = any free port); returns the port. */
export async function listenOn(app: FastifyInstance, port = 0): Promise<number> {
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}
