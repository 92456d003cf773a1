/**
 * `npm run bench:sync`: the first sync of a whole tenant from the backend into a fresh encrypted
 * cache, as the app's snapshot worker does it (same code: takeSnapshot over HTTP), with the
 * share of each stage: the backend's queries (its database writes the rows' JSON) and putting the
 * page together (its Server-Timing header), transfer (and queue: a page that arrived while the
 * client wrote the previous one waits), parse, the client's check and decode of the
 * page (shared/snapshot-wire.ts), insert, and the search index at the end. CPU seconds of the
 * backend process and of this one (the client) are printed beside, per 1,000 customers, with the
 * bytes per customer: wall-clock stages are inflated on a loaded machine, CPU much less. The time
 * the client waited for pages with nothing else to do is what the backend costs on the critical path.
 *
 * The backend runs as its own process (`backend/src/main.ts`), on SQLite (a file built once per
 * size under bench/data/, git-ignored) or on PostgreSQL (a throwaway cluster from
 * test/support/postgres.ts, seeded on each run: the seeding time is printed, not counted). The
 * data is the demo seed (`seedBackend`), the same generator as bench:routing and bench:lookup.
 * At the end the cache's counts are checked against the backend's. Merges `first-sync-<db>`
 * into bench/results.json. It prints figures; it never fails on a timing.
 *
 * Options (or BENCH_* variables): --customers N (BENCH_CUSTOMERS, default 1000000), --db sqlite |
 * postgres (BENCH_DB, default postgres), --page N (BENCH_SYNC_PAGE, default: the app's page size),
 * --seed N (BENCH_SEED, default 1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { loadConfig } from '../backend/src/config.js';
import { openDatabase, type DatabaseHandle } from '../backend/src/db/database.js';
import { migrateToLatest } from '../backend/src/db/migrate.js';
import { seedBackend } from '../backend/src/seed/seed-backend.js';
import { BackendClient } from '../electron/core/backend-client.js';
import { CacheStore } from '../electron/core/cache/cache-store.js';
import { openCache } from '../electron/core/cache/open-cache.js';
import type { Logger } from '../electron/core/logger.js';
import { DEFAULT_SYNC_TUNING } from '../electron/core/sync/sync-engine.js';
import { emptySnapshotStages, takeSnapshot, type SnapshotStages } from '../electron/core/sync/snapshot.js';
import { startPostgres, type RunningPostgres } from '../test/support/postgres.js';
import { BENCH_CACHE_KEY, benchFlags, DATA_DIR, DATA_NOW, mergeResults, schemaFingerprint } from './cache-file.js';
import { postgresClusterCpuMs, processCpuMs } from './support/proc.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BACKEND_MAIN = path.join(REPO, 'backend/src/main.ts');
const TARGET_SECONDS_1M = 60;
const IDLE_SAMPLE_MS = 5000;

type DbKind = 'sqlite' | 'postgres';

interface Options {
  customers: number;
  db: DbKind;
  page: number;
  seed: number;
}

function parseOptions(argv: string[]): Options {
  const flags = benchFlags(argv, ['customers', 'db', 'page', 'seed'], 'bench:sync [--customers N] [--db sqlite|postgres] [--page N] [--seed N]');
  const db = flags.text('db') ?? process.env.BENCH_DB ?? 'postgres';
  if (db !== 'sqlite' && db !== 'postgres') throw new Error(`--db must be sqlite or postgres, got "${db}"`);
  return {
    customers: flags.integer('customers', 'BENCH_CUSTOMERS', 1_000_000, 100, 9_999_999),
    db,
    page: flags.integer('page', 'BENCH_SYNC_PAGE', DEFAULT_SYNC_TUNING.snapshotPageSize, 1, 100_000),
    seed: flags.integer('seed', 'BENCH_SEED', 1, 0, 0xffffffff),
  };
}

const quietEnv = {
  TSUNAGU_LOG_LEVEL: 'warn',
  // The demo accounts' hashes are made at seed time; strength does not matter here.
  TSUNAGU_ARGON2_MEMORY_KIB: '256',
  TSUNAGU_ARGON2_TIME_COST: '1',
};

async function seedInto(handle: DatabaseHandle, options: Options): Promise<number> {
  const started = performance.now();
  await migrateToLatest(handle);
  const [demo] = await seedBackend({
    handle,
    argon2: loadConfig(quietEnv).argon2,
    customers: options.customers,
    seed: options.seed,
    now: DATA_NOW,
    onProgress: (written, total) => {
      if (written % 100_000 === 0 || written === total) {
        console.log(`  seeded ${written.toLocaleString('en')} / ${total.toLocaleString('en')} customers (${seconds(performance.now() - started)} s)`);
      }
    },
  });
  await markDerivedJobCaughtUp(handle);
  return demo?.contacts ?? 0;
}

/**
 * Marks the derived-attributes job (backend/src/derived) as caught up for every tenant, as it
 * is in service long before an operator's first sync. Otherwise the backend starts its
 * backfill of the freshly seeded tenant with the measured sync (a CPU profile of the backend
 * at 20k customers showed it taking most of the backend's CPU) and writes a change per
 * customer. The pages then carry no derived attributes. (`where true`: SQLite would otherwise
 * read `on conflict` after `from tenants` as a join's ON.)
 */
async function markDerivedJobCaughtUp(handle: DatabaseHandle): Promise<void> {
  const now = DATA_NOW.toISOString();
  await sql`insert into derived_job_marks (tenant_id, after_seq, backfill_after_id, updated_at)
    select id, last_seq, null, ${now} from tenants where true
    on conflict (tenant_id) do update set after_seq = excluded.after_seq, backfill_after_id = null`.execute(handle.db);
}

/** The SQLite backend file for this size and seed, built unless a finished one is there. */
async function ensureSqliteBackend(options: Options): Promise<Record<string, string>> {
  const file = path.join(DATA_DIR, `backend-sync-${options.customers}-s${options.seed}.db`);
  const manifestFile = `${file}.json`;
  const schema = schemaFingerprint();
  if (fs.existsSync(file) && fs.existsSync(manifestFile)) {
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { schema: string; dataNow: string };
    if (manifest.schema === schema && manifest.dataNow === DATA_NOW.toISOString()) {
      console.log(`Reusing ${path.relative(process.cwd(), file)}`);
      const handle = await openDatabase(loadConfig({ ...quietEnv, TSUNAGU_DB_PATH: file }));
      try {
        await markDerivedJobCaughtUp(handle);
      } finally {
        await handle.close();
      }
      return { TSUNAGU_DB_PATH: file };
    }
  }
  fs.mkdirSync(DATA_DIR, { recursive: true });
  for (const suffix of ['.json', '', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  console.log(`Building ${path.relative(process.cwd(), file)}: ${options.customers.toLocaleString('en')} customers`);
  const handle = await openDatabase(loadConfig({ ...quietEnv, TSUNAGU_DB_PATH: file }));
  try {
    await seedInto(handle, options);
  } finally {
    await handle.close();
  }
  fs.writeFileSync(manifestFile, `${JSON.stringify({ schema, dataNow: DATA_NOW.toISOString(), builtAt: new Date().toISOString() }, null, 2)}\n`);
  return { TSUNAGU_DB_PATH: file };
}

async function seedPostgres(options: Options): Promise<{ env: Record<string, string>; postgres: RunningPostgres }> {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const postgres = await startPostgres({ dir: DATA_DIR });
  console.log(`Seeding PostgreSQL: ${options.customers.toLocaleString('en')} customers`);
  const handle = await openDatabase(loadConfig({ ...quietEnv, DATABASE_URL: postgres.url }));
  try {
    await seedInto(handle, options);
    // VACUUM too: as in service, where the tables are long vacuumed; otherwise autovacuum and the
    // first reads' hint bits of the fresh rows would be counted as the sync's database CPU.
    await sql`VACUUM ANALYZE`.execute(handle.db);
  } finally {
    await handle.close();
  }
  return { env: { DATABASE_URL: postgres.url }, postgres };
}

async function startBackend(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  // BENCH_CPU_PROF_DIR: the backend writes a V8 CPU profile there when it stops (profiling).
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF_DIR] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', BACKEND_MAIN], {
    cwd: REPO,
    // No report rollup warm-up: on a fresh seed it rolls up 400 days of calls at start (0.3 CPU s/s
    // of the backend and as much of PostgreSQL for minutes), counted as the sync's otherwise; in
    // service it is long done. Idle, the backend then uses ~0 CPU (printed as "idle").
    env: { PATH: process.env.PATH, ...quietEnv, TSUNAGU_REPORT_ROLLUP_DAYS: '0', TSUNAGU_BACKEND_HOST: '127.0.0.1', TSUNAGU_BACKEND_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const check = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => reject(new Error(`the backend exited (${code}) before listening:\n${output}`)));
  });
  return { url, child };
}

async function serverCounts(client: BackendClient): Promise<number> {
  const first = await client.snapshot({ limit: 1 });
  return first.total;
}


/** CPU seconds of a PostgreSQL cluster: the postmaster, the backends it reaped, and those still running. */
function postgresCpuSeconds(postgres: RunningPostgres): number {
  return (postgresClusterCpuMs(path.join(postgres.clusterDir, 'data')) ?? 0) / 1000;
}

interface CpuReading {
  client: number;
  backend: number;
  database: number;
}

function readCpu(backendPid: number, postgres: RunningPostgres | null): CpuReading {
  const own = process.cpuUsage();
  return {
    client: (own.user + own.system) / 1e6,
    backend: (processCpuMs(backendPid) ?? 0) / 1000,
    database: postgres ? postgresCpuSeconds(postgres) : 0,
  };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (message, fields) => console.error(message, fields) };

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const { env, postgres } =
    options.db === 'sqlite' ? { env: await ensureSqliteBackend(options), postgres: null } : await seedPostgres(options);
  const backend = await startBackend(env);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-bench-sync-'));
  try {
    const client = new BackendClient(backend.url);
    // A loaded machine may take longer than the app's 15 s to answer the first request.
    const login = await client.login({ tenant: 'demo', login: 'admin', password: 'admin-pass' }, { timeoutMs: 120_000 });
    client.token = login.token;
    const total = await serverCounts(client);
    // The backend's background jobs (reports, derived attributes, mail) use CPU whether or not a
    // sync runs: their rate while idle is measured first and printed beside the sync's CPU.
    const idleBefore = readCpu(backend.child.pid ?? 0, postgres);
    const idleStarted = performance.now();
    await new Promise((resolve) => setTimeout(resolve, IDLE_SAMPLE_MS));
    const idleAfter = readCpu(backend.child.pid ?? 0, postgres);
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    const idleRate = { backend: (idleAfter.backend - idleBefore.backend) / idleSeconds, database: (idleAfter.database - idleBefore.database) / idleSeconds };

    const cacheFile = path.join(workDir, 'cache.db');
    const db = openCache(cacheFile, { key: BENCH_CACHE_KEY });
    db.pragma('wal_autocheckpoint = 10000');
    const store = new CacheStore(db, { logger: silentLogger });
    const stages: SnapshotStages = emptySnapshotStages();
    console.log(`First sync of ${total.toLocaleString('en')} customers (${options.db}, pages of ${options.page}) into an encrypted cache…`);
    const cpuBefore = readCpu(backend.child.pid ?? 0, postgres);
    const started = performance.now();
    let lastPrinted = 0;
    await takeSnapshot(
      store,
      client,
      options.page,
      ({ done }) => {
        if (done - lastPrinted >= 100_000) {
          lastPrinted = done;
          console.log(`  ${done.toLocaleString('en')} customers (${seconds(performance.now() - started)} s)`);
        }
      },
      stages,
    );
    const elapsedMs = performance.now() - started;
    const cpuAfter = readCpu(backend.child.pid ?? 0, postgres);
    const cpu = {
      client: cpuAfter.client - cpuBefore.client,
      backend: cpuAfter.backend - cpuBefore.backend,
      database: cpuAfter.database - cpuBefore.database,
    };
    const cached = {
      customers: (db.prepare('SELECT count(*) FROM customers').pluck().get() as number),
      incidents: (db.prepare('SELECT count(*) FROM incidents').pluck().get() as number),
      contacts: (db.prepare('SELECT count(*) FROM contacts').pluck().get() as number),
    };
    db.close();

    const perSecond = Math.round(cached.customers / (elapsedMs / 1000));
    const stageRows: [string, number][] = [
      ['server query', stages.serverQuery],
      ['server assemble', stages.serverSerialise],
      ['transfer and queue', stages.transfer],
      ['client JSON.parse', stages.parse],
      ['client check', stages.validate],
      ['cache insert', stages.insert],
      ['search index', stages.index],
    ];
    const accounted = stageRows.reduce((sum, [, ms]) => sum + ms, 0);
    console.log('');
    console.log(`first sync (${options.db}): ${seconds(elapsedMs)} s for ${cached.customers.toLocaleString('en')} customers, ${cached.incidents.toLocaleString('en')} incidents, ${cached.contacts.toLocaleString('en')} contacts`);
    console.log(`  ${perSecond.toLocaleString('en')} customers/s; ${(cached.customers + cached.incidents + cached.contacts).toLocaleString('en')} rows; ${(stages.bytes / 1e6).toFixed(0)} MB over ${stages.pages} pages`);
    const perThousand = (cpuSeconds: number) => ((cpuSeconds / Math.max(cached.customers, 1)) * 1000).toFixed(3);
    console.log(
      `  CPU seconds: client ${cpu.client.toFixed(1)}, backend ${cpu.backend.toFixed(1)}, database ${cpu.database.toFixed(1)}; per 1,000 customers: client ${perThousand(cpu.client)}, backend ${perThousand(cpu.backend)}, database ${perThousand(cpu.database)}; ${Math.round(stages.bytes / Math.max(cached.customers, 1))} bytes per customer`,
    );
    console.log(
      `  idle (before the sync, ${IDLE_SAMPLE_MS / 1000} s): backend ${idleRate.backend.toFixed(2)} CPU s/s, database ${idleRate.database.toFixed(2)} CPU s/s; over the sync's ${seconds(elapsedMs)} s that would be backend ${(idleRate.backend * elapsedMs / 1000).toFixed(1)}, database ${(idleRate.database * elapsedMs / 1000).toFixed(1)}`,
    );
    console.log(`  cores ${os.cpus().length}, load average ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
    if (cached.customers !== total) console.log(`  MISMATCH: the backend has ${total} customers, the cache ${cached.customers}`);
    console.log('  stage shares (of the time the stages account for; they overlap: the next page is read by the backend while the cache writes; the search index is built after the last page):');
    for (const [name, ms] of stageRows) {
      console.log(`    ${name.padEnd(22)} ${seconds(ms).padStart(7)} s  ${((ms / Math.max(accounted, 1)) * 100).toFixed(1).padStart(5)} %`);
    }
    console.log(
      `  the client waited for pages (nothing else to do) ${seconds(stages.waited)} s, ${((stages.waited / Math.max(elapsedMs, 1)) * 100).toFixed(1)} % of the sync: the backend and transfer on the critical path ("transfer and queue" above includes pages that had arrived and waited while the client wrote)`,
    );
    const projected = options.customers === 1_000_000 ? elapsedMs / 1000 : (elapsedMs / 1000) * (1_000_000 / Math.max(cached.customers, 1));
    console.log(`  1M customers: ${options.customers === 1_000_000 ? 'measured' : 'projected at this rate'} ${projected.toFixed(0)} s (target ${TARGET_SECONDS_1M} s)`);
    mergeResults(`first-sync-${options.db}`, {
      customers: cached.customers,
      incidents: cached.incidents,
      contacts: cached.contacts,
      seconds: Math.round(elapsedMs / 100) / 10,
      per_second: perSecond,
      page_size: options.page,
      megabytes: Math.round(stages.bytes / 1e6),
      bytes_per_customer: Math.round(stages.bytes / Math.max(cached.customers, 1)),
      cpu_seconds: { client: Math.round(cpu.client * 10) / 10, backend: Math.round(cpu.backend * 10) / 10, database: Math.round(cpu.database * 10) / 10 },
      idle_cpu_per_second: { backend: Math.round(idleRate.backend * 100) / 100, database: Math.round(idleRate.database * 100) / 100 },
      client_waited_seconds: Math.round(stages.waited / 100) / 10,
      stage_seconds: Object.fromEntries(stageRows.map(([name, ms]) => [name.replaceAll(' ', '_'), Math.round(ms / 100) / 10])),
      target_seconds_1m: TARGET_SECONDS_1M,
      cores: os.cpus().length,
      load_average: os.loadavg().map((load) => Math.round(load * 100) / 100),
      measured_at: new Date().toISOString(),
    });
  } finally {
    backend.child.kill('SIGTERM');
    await new Promise((resolve) => backend.child.once('exit', resolve));
    await postgres?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
