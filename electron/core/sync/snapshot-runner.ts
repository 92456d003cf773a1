import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { assertNever, CodedError, type ErrorCode } from '../../../shared/result.js';
import type { Logger, LogLevel } from '../logger.js';
import type { SnapshotProgress } from './snapshot.js';

export interface SnapshotWorkerData {
  cacheFile: string;
  cacheKeyHex: string;
  backendUrl: string;
  token: string;
  pageSize: number;
  region: string;
}

export type SnapshotWorkerMessage =
  | ({ type: 'progress' } & SnapshotProgress)
  | { type: 'done' }
  /** `sqliteCode`: the cache's own failure (damaged, read-only, full), so the engine can say which. */
  | { type: 'error'; code: ErrorCode; message: string; sqliteCode?: string }
  | { type: 'log'; level: LogLevel; message: string; fields: Record<string, unknown> | undefined };

/**
 * Where the worker's entry file is. Under tsx (dev, tests, browser shell) it is the .ts file
 * beside this one. The Electron build bundles it to its own .cjs file and passes that path
 * explicitly (see electron/main.ts), because a bundle has no `import.meta.url`.
 */
export function defaultSnapshotWorkerFile(): string {
  const here = import.meta.url as string | undefined;
  if (!here) throw new Error('snapshotWorkerFile must be given when the core is bundled');
  for (const name of ['./snapshot-worker.ts', './snapshot-worker.js']) {
    const file = fileURLToPath(new URL(name, here));
    if (fs.existsSync(file)) return file;
  }
  throw new Error('The snapshot worker file is missing beside snapshot-runner');
}

export interface RunningSnapshot {
  done: Promise<void>;
  /** Stops the worker at once; the pages written so far stay, and the next run resumes. */
  terminate(): Promise<void>;
}

/** Starts the snapshot worker; `done` settles when the snapshot is complete or failed. */
export function runSnapshotWorker(
  workerFile: string,
  data: SnapshotWorkerData,
  logger: Logger,
  onProgress: (progress: SnapshotProgress) => void,
): RunningSnapshot {
  const worker = workerFile.endsWith('.ts')
    ? new Worker(fileURLToPath(new URL('./tsx-worker-bootstrap.mjs', import.meta.url)), {
        workerData: { ...data, tsEntry: workerFile },
      })
    : new Worker(workerFile, { workerData: data });
  let terminated = false;
  const done = new Promise<void>((resolve, reject) => {
    let settled = false;
    worker.on('message', (message: SnapshotWorkerMessage) => {
      switch (message.type) {
        case 'progress':
          onProgress({ done: message.done, total: message.total });
          break;
        case 'log':
          logger[message.level](message.message, message.fields);
          break;
        case 'done':
          settled = true;
          resolve();
          break;
        case 'error':
          settled = true;
          reject(
            message.sqliteCode === undefined
              ? new CodedError(message.code, message.message)
              : Object.assign(new Error(message.message), { code: message.sqliteCode }),
          );
          break;
        default:
          assertNever(message, 'snapshot worker message');
      }
    });
    worker.on('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.on('exit', (code) => {
      if (settled) return;
      reject(
        terminated
          ? new CodedError('offline', 'The snapshot was interrupted')
          : new Error(`The snapshot worker exited with code ${code} before finishing`),
      );
    });
  });
  return {
    done,
    async terminate() {
      terminated = true;
      await worker.terminate();
    },
  };
}
