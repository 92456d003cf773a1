/**
 * `npm run bench:propagation`: how long a note written in one operator's app takes to be in
 * another operator's local cache. Real parts: backend processes (backend/src/main.ts) on a
 * SQLite file, and two backend instances on one throwaway PostgreSQL cluster; two cores (the
 * app's core, as the shells host it) with their own encrypted caches, signed in as different
 * users. A's core takes the note into its outbox and pushes it; the backend pokes B's event
 * stream (on PostgreSQL through LISTEN/NOTIFY from the other instance); B pulls the change.
 *
 * A sample is the time from A's `notes:add` to the first moment B's cache serves the note
 * (checked on each of B's sync status events, and on a short fallback timer so a missed poke
 * shows as a slow sample, not a hang). Notes go one at a time. Prints p50/p95/p99 per database
 * and records `propagation-sqlite` and `propagation-postgres` in bench/results.json.
 * BENCH_WRITES (default 100) notes per database; BENCH_DATABASES (default sqlite,postgres).
 */
import fs from 'node:fs';
import type { SqlDialect } from '../backend/src/db/database.js';
import { createDemoTenant, DEMO_PASSWORD } from '../backend/src/testing/fixtures.js';
import { stopAll } from '../e2e/support/processes.js';
import { startTestCore, type TestCore } from '../electron/core/testing/core-harness.js';
import { envInteger, mergeResults, percentile } from './cache-file.js';
import { machine, openBenchDatabase, roundMs, startBenchBackend, type BenchDatabase } from './support/backend.js';

const TARGET_P95_MS = 1000;
/** A note not in B's cache after this long counts as lost. */
const GIVE_UP_MS = 10_000;
/** B is checked at least this often besides on its events (a poke lost would otherwise hang). */
const FALLBACK_CHECK_MS = 200;

async function signIn(core: TestCore, login: string): Promise<void> {
  await core.value('session:login', { tenant: 'demo', login, password: DEMO_PASSWORD });
  await core.waitForStatus((s) => s.phase === 'idle' && s.online, `${login} idle after the first sync`);
}

async function inCache(core: TestCore, customerId: string, body: string): Promise<boolean> {
  const result = await core.call('customers:get', { customerId });
  return result.ok && result.value.source === 'cache' && result.value.contacts.some((c) => c.body === body && !c.pending);
}

/** Resolves with the time B's cache first served the note, or null after GIVE_UP_MS. */
function waitForNote(core: TestCore, customerId: string, body: string): Promise<number | null> {
  return new Promise((resolve) => {
    let done = false;
    let checking = false;
    const finish = (at: number | null) => {
      if (done) return;
      done = true;
      off();
      clearInterval(fallback);
      clearTimeout(giveUp);
      resolve(at);
    };
    const check = () => {
      if (done || checking) return;
      checking = true;
      void inCache(core, customerId, body).then((found) => {
        checking = false;
        if (found) finish(performance.now());
      });
    };
    const off = core.core.onEvent((...[event]) => {
      if (event === 'sync:status') check();
    });
    const fallback = setInterval(check, FALLBACK_CHECK_MS);
    const giveUp = setTimeout(() => finish(null), GIVE_UP_MS);
  });
}

async function measure(dialect: SqlDialect, writes: number): Promise<void> {
  let database: BenchDatabase | undefined;
  const cores: TestCore[] = [];
  try {
    database = await openBenchDatabase(dialect);
    const demo = await createDemoTenant(database.handle, database.config.argon2);
    // One backend on SQLite (one process serves it); two instances on PostgreSQL.
    const first = await startBenchBackend(database, `${dialect}-backend-1`);
    const second = dialect === 'postgres' ? await startBenchBackend(database, `${dialect}-backend-2`) : first;
    const a = startTestCore({ backendUrl: first.url });
    const b = startTestCore({ backendUrl: second.url });
    cores.push(a, b);
    await signIn(a, 'agent');
    await signIn(b, 'supervisor');
    const customerId = demo.customers.yamada.id;
    const incidentId = demo.customers.yamada.incidentIds[0]!;

    const samples: number[] = [];
    let lost = 0;
    for (let i = 0; i < writes; i++) {
      const body = `propagation ${dialect} ${i} ${Date.now()}`;
      const arrived = waitForNote(b, customerId, body);
      const started = performance.now();
      await a.value('notes:add', { incidentId, body });
      const at = await arrived;
      if (at === null) lost++;
      else samples.push(at - started);
    }
    const sorted = [...samples].sort((x, y) => x - y);
    const p50 = percentile(sorted, 0.5);
    const p95 = percentile(sorted, 0.95);
    const p99 = percentile(sorted, 0.99);
    const max = sorted.at(-1) ?? 0;
    const m = machine();
    const topology = dialect === 'postgres' ? 'A → instance 1, B ← instance 2, one PostgreSQL' : 'one backend on SQLite';
    console.log(`\nPropagation on ${dialect} (${topology}), note in A's app → in B's cache, ${samples.length} notes:`);
    console.log(
      `  p50 ${p50.toFixed(1)} ms   p95 ${p95.toFixed(1)} ms   p99 ${p99.toFixed(1)} ms   max ${max.toFixed(1)} ms   lost ${lost}   ` +
        `target p95 ≤ ${TARGET_P95_MS} ms: ${p95 <= TARGET_P95_MS && lost === 0 ? 'met' : 'MISSED'}   (${m.cores} cores, load ${m.load_average_1m})`,
    );
    mergeResults(`propagation-${dialect}`, {
      p50_ms: roundMs(p50),
      p95_ms: roundMs(p95),
      p99_ms: roundMs(p99),
      max_ms: roundMs(max),
      target_p95_ms: TARGET_P95_MS,
      n: samples.length,
      lost,
      backend_instances: dialect === 'postgres' ? 2 : 1,
      database: dialect,
      ...m,
      measured_at: new Date().toISOString(),
    });
  } finally {
    for (const core of cores) {
      await core.dispose();
      fs.rmSync(core.dataDir, { recursive: true, force: true });
    }
    await stopAll();
    await database?.dispose();
  }
}

async function main(): Promise<void> {
  const writes = envInteger('BENCH_WRITES', 100, 1, 100_000);
  const databases = (process.env.BENCH_DATABASES ?? 'sqlite,postgres').split(',').map((d) => d.trim());
  for (const dialect of databases) {
    if (dialect !== 'sqlite' && dialect !== 'postgres') throw new Error(`BENCH_DATABASES: unknown database ${JSON.stringify(dialect)} (sqlite or postgres)`);
    await measure(dialect, writes);
  }
  console.log('Wrote bench/results.json');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
