import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

/** How often the worker copies the WAL back into the database file. */
export const CHECKPOINT_INTERVAL_MS = 250;

/**
 * The WAL length (pages) at which the backend's own connection checkpoints after all, should the
 * worker fall behind: the bound on the WAL file (16 MB), four times SQLite's default.
 */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 4000;

/**
 * The worker's code, plain JavaScript (a worker thread does not inherit the `tsx` loader). It
 * opens its own connection to the file and runs a PASSIVE checkpoint at each interval: that
 * never waits for the writer or the readers of the backend's connection, it copies what it can.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.file, { fileMustExist: true });
const timer = setInterval(() => {
  try {
    // Writes that commit during a checkpoint leave frames behind it, and SQLite rewinds the WAL
    // only once every frame is copied: at 100 writes/s a single pass per tick never catches up
    // and the WAL grows without end. The passes after the first copy a few frames each.
    let checkpointed = 0;
    let result;
    for (let pass = 0; pass < 5; pass++) {
      [result] = db.pragma('wal_checkpoint(PASSIVE)');
      if (!result || result.busy) break;
      checkpointed += result.checkpointed;
      if (result.checkpointed >= result.log) break;
    }
    if (checkpointed > 0) parentPort.postMessage({ checkpointed, log: result ? result.log : 0 });
  } catch (error) {
    parentPort.postMessage({ failed: String(error && error.message || error) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface WalCheckpointer {
  /** Called after each checkpoint that copied frames: how many, of the WAL's `log` frames. */
  onCheckpoint(listener: (done: { checkpointed: number; log: number }) => void): () => void;
  stop(): Promise<void>;
}

/**
 * Moves the WAL checkpoints of the backend's SQLite file off the event loop (issue 13 item 7:
 * "pulls stall behind pushes" at 1,000 agents). With SQLite's automatic checkpoint, the commit
 * that fills the WAL to 1,000 pages copies them into the database file and syncs it, inside
 * that commit, on the one thread that serves every request: measured on this machine, 1 % of
 * small write transactions took over 12 ms and 0.1 % over 45 ms (146 ms at worst), and every
 * pull and push waited behind them. Here a worker thread checkpoints four times a second on a
 * connection of its own, and the backend's connection only once the WAL passes
 * FALLBACK_AUTOCHECKPOINT_PAGES (the worker fell behind). Should the worker fail, SQLite's
 * default automatic checkpoint is switched back on.
 */
export function startWalCheckpointer(sqlite: SQLite.Database, file: string, log: (message: string) => void): WalCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs: CHECKPOINT_INTERVAL_MS } });
  // The worker must not keep a process (a test, a script) alive on its own.
  worker.unref();
  sqlite.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  let stopping = false;
  const fallBack = (why: string) => {
    if (stopping || !sqlite.open) return;
    sqlite.pragma('wal_autocheckpoint = 1000');
    log(`WAL checkpoints run in the request thread again: ${why}`);
  };
  const listeners = new Set<(done: { checkpointed: number; log: number }) => void>();
  worker.on('message', (message: { failed?: string; checkpointed?: number; log?: number }) => {
    if (message.failed) log(`WAL checkpoint failed: ${message.failed}`);
    else if (message.checkpointed !== undefined) for (const listener of listeners) listener({ checkpointed: message.checkpointed, log: message.log ?? 0 });
  });
  worker.on('error', (error) => fallBack(error.message));
  let exited = false;
  worker.on('exit', (code) => {
    exited = true;
    if (code !== 0) fallBack(`the checkpoint worker exited with ${code}`);
  });
  return {
    onCheckpoint(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      if (stopping || exited) return;
      stopping = true;
      const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      // An unreferenced worker would let the process end before its exit, and whoever awaits
      // stop() (a script closing its database last) would never resume.
      worker.ref();
      worker.postMessage('stop');
      await ended;
    },
  };
}
