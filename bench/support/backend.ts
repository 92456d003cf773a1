/**
 * Backends for the benchmarks that need one outside vitest: a SQLite file or a throwaway
 * PostgreSQL cluster (test/support/postgres.ts), migrated, with the demo tenant, and backend
 * processes (`backend/src/main.ts`, as in production) on it. Every process is stopped by pid
 * through e2e/support/processes.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type BackendConfig } from '../../backend/src/config.js';
import { openDatabase, type DatabaseHandle, type SqlDialect } from '../../backend/src/db/database.js';
import { migrateToLatest } from '../../backend/src/db/migrate.js';
import { root } from '../../e2e/support/stack.js';
import { freePort } from '../../e2e/support/stack.js';
import { startProcess, type Started } from '../../e2e/support/processes.js';
import { startPostgres, type RunningPostgres } from '../../test/support/postgres.js';

/** Cheap password hashing and no login throttle: the benchmarks log in many users, fast. */
const BENCH_ENV: Record<string, string> = {
  TSUNAGU_ARGON2_MEMORY_KIB: '256',
  TSUNAGU_ARGON2_TIME_COST: '1',
  TSUNAGU_LOGIN_REQUESTS_PER_MINUTE: '1000000',
  TSUNAGU_LOGIN_ADDRESS_LOCK_AFTER_FAILURES: '100000',
  TSUNAGU_LOG_LEVEL: 'warn',
  TSUNAGU_SMTP_ENABLED: 'false',
  TSUNAGU_MAIL_SENDER_ENABLED: 'false',
};

export interface BenchDatabase {
  dialect: SqlDialect;
  /** The environment a backend process needs to use this database. */
  env: Record<string, string>;
  config: BackendConfig;
  /** Open, migrated handle for preparing rows (close it with `dispose`). */
  handle: DatabaseHandle;
  dispose(): Promise<void>;
}

export async function openBenchDatabase(dialect: SqlDialect, extraEnv: Record<string, string> = {}): Promise<BenchDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-bench-db-'));
  let postgres: RunningPostgres | undefined;
  const env: Record<string, string> = { ...BENCH_ENV, ...extraEnv };
  if (dialect === 'sqlite') {
    env.TSUNAGU_DB_PATH = path.join(dir, 'backend.db');
  } else {
    postgres = await startPostgres();
    env.DATABASE_URL = postgres.url;
  }
  const config = loadConfig({ ...env, TSUNAGU_BACKEND_PORT: '0' });
  const handle = await openDatabase(config);
  await migrateToLatest(handle);
  let disposed = false;
  return {
    dialect,
    env,
    config,
    handle,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await handle.close().catch(() => undefined);
      await postgres?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BenchBackend {
  url: string;
  process: Started;
}

/** A backend process on the database, listening on a free loopback port. */
export async function startBenchBackend(database: BenchDatabase, name = 'backend'): Promise<BenchBackend> {
  const port = await freePort();
  const { started } = await startProcess({
    name,
    command: process.execPath,
    // BENCH_CPU_PROF_DIR: each backend writes a V8 CPU profile there when it stops (profiling).
    args: [...(process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF_DIR] : []), '--import', 'tsx', path.join(root, 'backend/src/main.ts')],
    env: { ...database.env, TSUNAGU_BACKEND_PORT: String(port) },
    cwd: root,
    readyWhen: /listening on http/,
  });
  // Its output is kept for failure messages only; a long run must not grow it without end.
  started.child.stdout?.on('data', () => started.output.splice(0, Math.max(0, started.output.length - 200)));
  return { url: `http://127.0.0.1:${port}`, process: started };
}

/** What every benchmark prints and records beside its figures. */
export function machine(): { cores: number; load_average_1m: number } {
  return { cores: os.cpus().length, load_average_1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100 };
}

export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
