/**
 * `npm run bench:routing`: how fast the backend, as the PBX's CTI server, decides whom a call
 * rings, with a million customers (about five million contacts) and a million calls of history
 * in its SQLite database.
 *
 * Builds the backend database once with the demo seed (bench/data/backend-<size>.db, git-ignored)
 * plus `calls` rows for the call history, and reuses it while size, seed and the migrations
 * match. Then starts the backend on 127.0.0.1 with a CTI token, makes the demo tenant's
 * operators available, and asks GET /api/cti/route over HTTP, as the PBX does, for callers
 * picked from the seeded customers (their numbers written the national way, a few unknown),
 * each with its own Call-ID. Prints p50/p99 against the target and merges `routing-decision`
 * into bench/results.json. A benchmark reports figures; it never fails on a timing.
 *
 * Options (or BENCH_* variables): --customers N (BENCH_CUSTOMERS, default 1000000), --calls N
 * (BENCH_CALLS, default: as many as customers), --iterations N (BENCH_ITERATIONS, default 3000),
 * --seed N (BENCH_SEED, default 1).
 *
 * To measure more of the path (the PBX's own half: INVITE in → first target's INVITE out),
 * add a benchmark to BENCHMARKS: it gets the running backend (`BenchBackend`) and returns its
 * samples.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { buildApp } from '../backend/src/app.js';
import { loadConfig, type BackendConfig } from '../backend/src/config.js';
import { openDatabase, type DatabaseHandle } from '../backend/src/db/database.js';
import { migrateToLatest } from '../backend/src/db/migrate.js';
import { MIGRATION_NAMES } from '../backend/src/db/migrations/index.js';
import { mailDb } from '../backend/src/mail/schema.js';
import { DEMO_USERS, planTenant, seedBackend, type TenantPlan } from '../backend/src/seed/seed-backend.js';
import { Prng } from '../backend/src/seed/prng.js';
import { ctiTokenSha256 } from '../backend/src/telephony/cti-access.js';
import type { CtiRouteResponse } from '../backend/src/telephony/cti.js';
import { TELEPHONY_API } from '../backend/src/telephony/routes.js';
import { benchFlags, DATA_DIR, DATA_NOW, mergeResults, percentile } from './cache-file.js';
import { measurePbxRouting, PBX_ROUTING_TARGET_P99_MS } from './routing-pbx.js';

const ROUTING_TARGET_P99_MS = 20;
const WARMUP_REQUESTS = 200;
/** Share of callers whose number matches no customer (they go to the longest idle operator). */
const UNKNOWN_CALLER_SHARE = 0.05;
const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../backend/src/db/migrations');

interface BackendManifest {
  customers: number;
  calls: number;
  seed: number;
  dataNow: string;
  schema: string;
  contacts: number;
  buildSeconds: number;
  builtAt: string;
}

interface Options {
  customers: number;
  calls: number;
  iterations: number;
  seed: number;
}

function parseOptions(argv: string[]): Options {
  const flags = benchFlags(argv, ['customers', 'calls', 'iterations', 'seed'], 'bench:routing [--customers N] [--calls N] [--iterations N] [--seed N]');
  const customers = flags.integer('customers', 'BENCH_CUSTOMERS', 1_000_000, 1000, 9_999_999);
  return {
    customers,
    calls: flags.integer('calls', 'BENCH_CALLS', customers, 0, 9_999_999),
    iterations: flags.integer('iterations', 'BENCH_ITERATIONS', 3000, 100, 1_000_000),
    seed: flags.integer('seed', 'BENCH_SEED', 1, 0, 0xffffffff),
  };
}

/** The backend's migrations as they are now: a database built with older ones measures the wrong indexes. */
function schemaFingerprint(): string {
  const hash = createHash('sha256');
  for (const name of MIGRATION_NAMES) hash.update(`${name}\n${fs.readFileSync(path.join(MIGRATIONS_DIR, `${name}.ts`), 'utf8')}\n`);
  return hash.digest('hex').slice(0, 16);
}

function sizeLabel(customers: number): string {
  if (customers % 1_000_000 === 0) return `${customers / 1_000_000}m`;
  if (customers % 1000 === 0) return `${customers / 1000}k`;
  return String(customers);
}

function backendEnv(file: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    TSUNAGU_DB_PATH: file,
    TSUNAGU_BACKEND_HOST: '127.0.0.1',
    TSUNAGU_BACKEND_PORT: '0',
    TSUNAGU_LOG_LEVEL: 'silent',
    // The demo accounts' hashes are made once at build time; strength does not matter here.
    TSUNAGU_ARGON2_MEMORY_KIB: '256',
    TSUNAGU_ARGON2_TIME_COST: '1',
    ...extra,
  };
}

/** A phone of the customer at `index`, written as a person would dial it back (03-1234-5678). */
function nationalNumber(plan: TenantPlan, index: number, rng: Prng): string {
  const phone = rng.pick(plan.generator.recordAt(index).customer.phones);
  return parsePhoneNumberFromString(phone.e164)?.formatNational() ?? phone.e164;
}

/**
 * The call history: `count` ended calls of the demo tenant in `calls`, spread over the year
 * before DATA_NOW, from seeded customers' numbers to the contact center's operators.
 */
function seedCallHistory(file: string, plan: TenantPlan, count: number, seed: number): void {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insert = db.prepare(
    `insert into calls (id, tenant_id, external_id, status, direction, agent_id, from_number, to_number, started_at, answered_at,
      ended_at, updated_at, customer_id, reported_events, app_reported, call_log_contact_id, pbx_reported)
     values (?, ?, ?, 'ended', 'inbound', ?, ?, ?, ?, ?, ?, ?, ?, ',ringing,answered,ended,', 1, null, 1)`,
  );
  const operators = plan.users.filter((user) => user.account.role !== 'admin');
  const rng = new Prng(seed, 0xca11);
  const yearMs = 365 * 24 * 3600 * 1000;
  const chunk = 10_000;
  const started = performance.now();
  for (let done = 0; done < count; done += chunk) {
    db.transaction(() => {
      for (let i = done; i < Math.min(count, done + chunk); i++) {
        const customerIndex = rng.int(0, plan.generator.count - 1);
        const record = plan.generator.recordAt(customerIndex);
        const agent = rng.pick(operators);
        const startMs = DATA_NOW.getTime() - rng.int(0, yearMs);
        const at = (offset: number) => new Date(startMs + offset * 1000).toISOString();
        insert.run(
          `bench-call-${i}`,
          plan.tenantId,
          `bench-${i}@pbx`,
          agent.id,
          rng.pick(record.customer.phones).e164,
          agent.account.login,
          at(0),
          at(8),
          at(8 + rng.int(20, 900)),
          at(900),
          record.customer.id,
        );
      }
    })();
    if ((done + chunk) % 100_000 === 0 || done + chunk >= count) {
      console.log(`  ${Math.min(count, done + chunk).toLocaleString('en')} / ${count.toLocaleString('en')} calls (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }
  }
  db.pragma('optimize');
  db.close();
}

/** The backend database for this size and seed, built unless a finished one is already there. */
async function ensureBenchBackend(options: Options): Promise<{ file: string; manifest: BackendManifest; plan: TenantPlan; built: boolean }> {
  const file = path.join(DATA_DIR, `backend-${sizeLabel(options.customers)}.db`);
  const manifestFile = `${file}.json`;
  const plan = planTenant(DEMO_USERS, options.seed, options.customers, DATA_NOW);
  if (fs.existsSync(file) && fs.existsSync(manifestFile)) {
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as BackendManifest;
    if (
      manifest.customers === options.customers &&
      manifest.calls === options.calls &&
      manifest.seed === options.seed &&
      manifest.dataNow === DATA_NOW.toISOString() &&
      manifest.schema === schemaFingerprint()
    ) {
      console.log(`Reusing ${path.relative(process.cwd(), file)} (built ${manifest.builtAt} in ${manifest.buildSeconds} s)`);
      return { file, manifest, plan, built: false };
    }
  }
  fs.mkdirSync(DATA_DIR, { recursive: true });
  // The manifest goes first and is written last, so a half-built database is never taken for a finished one.
  for (const suffix of ['.json', '', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  console.log(`Building ${path.relative(process.cwd(), file)}: ${options.customers.toLocaleString('en')} customers, ${options.calls.toLocaleString('en')} calls, seed ${options.seed}`);
  const started = performance.now();
  const config = loadConfig(backendEnv(file));
  const handle = await openDatabase(config);
  let contacts = 0;
  try {
    await migrateToLatest(handle);
    const [demo] = await seedBackend({
      handle,
      argon2: config.argon2,
      customers: options.customers,
      seed: options.seed,
      now: DATA_NOW,
      onProgress: (written, total) => {
        if (written % 100_000 === 0 || written === total) {
          console.log(`  ${written.toLocaleString('en')} / ${total.toLocaleString('en')} customers (${((performance.now() - started) / 1000).toFixed(1)} s)`);
        }
      },
    });
    contacts = demo?.contacts ?? 0;
  } finally {
    await handle.close();
  }
  seedCallHistory(file, plan, options.calls, options.seed);
  const manifest: BackendManifest = {
    customers: options.customers,
    calls: options.calls,
    seed: options.seed,
    dataNow: DATA_NOW.toISOString(),
    schema: schemaFingerprint(),
    contacts,
    buildSeconds: Math.round((performance.now() - started) / 100) / 10,
    builtAt: new Date().toISOString(),
  };
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return { file, manifest, plan, built: true };
}

/** The backend as the PBX sees it: listening on loopback, with the PBX's CTI token. */
export interface BenchBackend {
  url: string;
  ctiToken: string;
  tenant: string;
  handle: DatabaseHandle;
  plan: TenantPlan;
  /** Every operator of the tenant available now, heartbeat fresh (call before each batch). */
  makeOperatorsAvailable(): Promise<void>;
  close(): Promise<void>;
}

async function startBenchBackend(file: string, plan: TenantPlan): Promise<BenchBackend> {
  const ctiToken = randomBytes(24).toString('base64url');
  const config: BackendConfig = loadConfig(
    backendEnv(file, { TSUNAGU_CTI_PBXES: JSON.stringify([{ id: 'bench-pbx', tenants: ['demo'], tokenSha256: ctiTokenSha256(ctiToken) }]) }),
  );
  const handle = await openDatabase(config);
  const app: FastifyInstance = buildApp({ db: handle, config });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the backend has no TCP address');
  const operators = plan.users.filter((user) => user.account.role !== 'admin');
  const benchStartedAt = new Date().toISOString();
  return {
    url: `http://127.0.0.1:${address.port}`,
    ctiToken,
    tenant: 'demo',
    handle,
    plan,
    async makeOperatorsAvailable() {
      const now = new Date().toISOString();
      for (const [index, user] of operators.entries()) {
        // Distinct `since` times: a fixed longest-idle order, as on a real floor.
        const since = new Date(Date.now() - (operators.length - index) * 60_000).toISOString();
        await mailDb(handle.db)
          .insertInto('agent_presence')
          .values({ user_id: user.id, tenant_id: plan.tenantId, status: 'available', since, last_seen_at: now, status_changed_at: since })
          .onConflict((oc) => oc.column('user_id').doUpdateSet({ status: 'available', last_seen_at: now }))
          .execute();
      }
    },
    async close() {
      await app.close();
      // What the run wrote (decisions, presence) goes, so every run starts from the same data.
      await handle.db.deleteFrom('audit_events').where('at', '>=', benchStartedAt).execute();
      await mailDb(handle.db).deleteFrom('agent_presence').execute();
      await handle.close();
    },
  };
}

interface Measured {
  name: string;
  targetMs: number;
  samples: number[];
  /** Answers that were not a 200 with ring targets. */
  misses: number;
  /**
   * CPU time this process spent per sample (the backend and its HTTP client both live here).
   * On a loaded machine the wall-clock figures swell; this one says what the work itself costs.
   */
  cpuMsPerSample: number;
}

interface Benchmark {
  name: string;
  targetMs: number;
  run(backend: BenchBackend, iterations: number, seed: number): Promise<Measured>;
}

/** GET /api/cti/route over HTTP for `iterations` callers, as the PBX asks it. */
async function measureRoutingDecision(backend: BenchBackend, iterations: number, seed: number): Promise<Measured> {
  const rng = new Prng(seed, 0x7047e);
  const callers = Array.from({ length: iterations + WARMUP_REQUESTS }, (_, i) =>
    rng.chance(UNKNOWN_CALLER_SHARE) ? `050-${String(1000 + (i % 9000))}-${String(1000 + rng.int(0, 8999))}` : nationalNumber(backend.plan, rng.int(0, backend.plan.generator.count - 1), rng),
  );
  const headers = { authorization: `Bearer ${backend.ctiToken}` };
  const samples: number[] = [];
  let misses = 0;
  let cpuStart = process.cpuUsage();
  let cpuMicros = 0;
  for (const [i, caller] of callers.entries()) {
    if (i === WARMUP_REQUESTS) cpuStart = process.cpuUsage();
    if (i % 250 === 0) {
      const spent = process.cpuUsage(cpuStart);
      if (i > WARMUP_REQUESTS) cpuMicros += spent.user + spent.system;
      await backend.makeOperatorsAvailable();
      cpuStart = process.cpuUsage();
    }
    const query = new URLSearchParams({ tenant: backend.tenant, caller, called: '0120-000-000', callId: `bench-route-${seed}-${i}` });
    const started = performance.now();
    const response = await fetch(`${backend.url}${TELEPHONY_API.ctiRoute}?${query}`, { headers });
    const body = (await response.json()) as CtiRouteResponse;
    const elapsed = performance.now() - started;
    if (i < WARMUP_REQUESTS) continue;
    samples.push(elapsed);
    if (response.status !== 200 || body.action !== 'ring' || body.targets.length === 0) misses++;
  }
  const spent = process.cpuUsage(cpuStart);
  cpuMicros += spent.user + spent.system;
  return { name: 'routing-decision', targetMs: ROUTING_TARGET_P99_MS, samples, misses, cpuMsPerSample: cpuMicros / 1000 / samples.length };
}

const BENCHMARKS: Benchmark[] = [
  { name: 'routing-decision', targetMs: ROUTING_TARGET_P99_MS, run: measureRoutingDecision },
  // Each call goes through Kamailio and waits for the backend's call log: fewer of them.
  { name: 'routing-pbx', targetMs: PBX_ROUTING_TARGET_P99_MS, run: (backend, iterations) => measurePbxRouting(backend, Math.min(iterations, 300)) },
];

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const cores = os.cpus().length;
  const { file, manifest, plan, built } = await ensureBenchBackend(options);
  if (built) console.log(`Built in ${manifest.buildSeconds} s: ${manifest.contacts.toLocaleString('en')} contacts, ${manifest.calls.toLocaleString('en')} calls`);
  const backend = await startBenchBackend(file, plan);
  try {
    console.log(
      `\nBackend: ${manifest.customers.toLocaleString('en')} customers, ${manifest.contacts.toLocaleString('en')} contacts, ` +
        `${manifest.calls.toLocaleString('en')} calls (SQLite); ${cores} cores; ${options.iterations} requests each after ${WARMUP_REQUESTS} warm-up\n`,
    );
    console.log(`${'benchmark'.padEnd(20)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}  target p99     misses  CPU ms/request`);
    for (const benchmark of BENCHMARKS) {
      const result = await benchmark.run(backend, options.iterations, options.seed);
      const sorted = [...result.samples].sort((a, b) => a - b);
      const p50 = percentile(sorted, 0.5);
      const p99 = percentile(sorted, 0.99);
      const max = sorted[sorted.length - 1] ?? 0;
      console.log(
        `${result.name.padEnd(20)}${p50.toFixed(3).padStart(9)}${p99.toFixed(3).padStart(9)}${max.toFixed(2).padStart(9)}` +
          `  ≤ ${String(result.targetMs).padStart(2)} ms ${(p99 <= result.targetMs ? 'met' : 'MISSED').padEnd(7)}${String(result.misses).padStart(6)}` +
          `${result.cpuMsPerSample.toFixed(3).padStart(16)}`,
      );
      mergeResults(result.name, {
        p50_ms: round(p50),
        p99_ms: round(p99),
        max_ms: round(max),
        target_p99_ms: result.targetMs,
        n: result.samples.length,
        misses: result.misses,
        cpu_ms_per_request: round(result.cpuMsPerSample),
        cores,
        customers: manifest.customers,
        contacts: manifest.contacts,
        calls: manifest.calls,
        database: 'sqlite',
        build_s: manifest.buildSeconds,
        // Other work on the machine inflates the tail; the load says how much there was.
        load_average_1m: round(os.loadavg()[0] ?? 0),
        measured_at: new Date().toISOString(),
      });
    }
    console.log(`\n"misses" counts answers that were not a 200 with ring targets; "CPU ms/request" is this process's CPU time`);
    console.log(`per request (backend and HTTP client together), which machine load does not inflate. Load average (1 min): ${os.loadavg()[0]?.toFixed(1)}.`);
    console.log('Wrote bench/results.json');
  } finally {
    await backend.close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

main().catch((error: unknown) => {
  console.error('bench:routing failed:', error);
  process.exitCode = 1;
});
