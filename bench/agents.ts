/**
 * `npm run bench:agents`: a thousand operators' apps against one backend process, on
 * PostgreSQL and on SQLite. Each simulated agent is a lightweight HTTP client that behaves as
 * the app's sync engine does (electron/core/sync/sync-engine.ts): it keeps the event stream
 * (`GET /api/events`) open and applies the delta pokes it carries (backend/src/sync/delta-pokes.ts),
 * pulls `GET /api/sync/changes` after its cursor on a gap, a rights poke or a bare poke newer
 * than the cursor (one pull at a time; a poke during a pull asks for one more), and pushes one
 * note (`POST /api/sync/push`) every BENCH_WRITE_INTERVAL_MS (default 10 s), the first at a
 * random moment of the first interval (then pulls only while no delta came, as the app's pass). The agents run in BENCH_CLIENT_THREADS
 * worker threads (default 4; bench/support/agent-client.ts), so that no single client event
 * loop holds a thousand streams; the backend runs in its own process (backend/src/main.ts),
 * all on loopback.
 *
 * Figures: p50/p99/max latency of every API request of the measured window (pulls and pushes,
 * send to last byte), the error count (a non-2xx answer, a failed request, an event stream
 * that broke) by kind, the same split by pulls and pushes, requests per second, and the writes
 * and pulls made (by cause), the deltas applied and their bytes, and the backend's cost of the
 * deltas' fan-out (CPU building them and writing them to the streams, from the counters it
 * logs every 10 s), and on PostgreSQL the database server's own CPU per request. On PostgreSQL it also samples what the backend's connections wait on
 * (pg_stat_activity, every 50 ms): lock waits there are structural, not load. Logins and the first
 * pull happen before the window. Records `agents-postgres` and `agents-sqlite` in
 * bench/results.json (`agents-sqlite-200` and so on for another BENCH_AGENTS). BENCH_AGENTS (default 1000), BENCH_SECONDS (default 60),
 * BENCH_DATABASES (default postgres,sqlite), BENCH_CLIENT_THREADS (default 4).
 */
import http from 'node:http';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import type { SqlDialect } from '../backend/src/db/database.js';
import type { FanOutCounters } from '../backend/src/sync/delta-pokes.js';
import { createCustomerRecord, createTenant, createUser } from '../backend/src/testing/fixtures.js';
import { stopAll } from '../e2e/support/processes.js';
import { API } from '../shared/api.js';
import { envInteger, mergeResults, percentile } from './cache-file.js';
import type { ClientFigures, ClientStart } from './support/agent-client.js';
import { machine, openBenchDatabase, roundMs, startBenchBackend, type BenchDatabase } from './support/backend.js';
import { postgresClusterCpuMs, processCpuMs } from './support/proc.js';

const TARGET_P99_MS = 50;
const PASSWORD = 'bench-agents-password';
const CUSTOMERS = 200;
const LOGIN_CONCURRENCY = 8;
/** Linux's USER_HZ, the unit of /proc/<pid>/stat times. */

async function prepare(database: BenchDatabase, agents: number): Promise<{ logins: string[]; incidentIds: string[] }> {
  const tenant = await createTenant(database.handle, { slug: 'bench', name: 'Bench Contact Center' });
  const logins: string[] = [];
  for (let i = 0; i < agents; i++) {
    const login = `agent${String(i).padStart(4, '0')}`;
    await createUser(database.handle, tenant.id, { login, password: PASSWORD, customerLimitAuthority: 3, sipUser: null }, database.config.argon2);
    logins.push(login);
  }
  const incidentIds: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const customer = await createCustomerRecord(database.handle, tenant.id, {
      code: `B-${String(i).padStart(5, '0')}`,
      name: `負荷 顧客${i}`,
      nameKana: `フカ コキャク${i}`,
      phones: [{ e164: `+8150${String(10_000_000 + i)}`, kind: 'landline' }],
      classification: 3,
      incidents: [{ title: `負荷案件${i}` }],
    });
    incidentIds.push(...customer.incidentIds);
  }
  return { logins, incidentIds };
}

/** One login request (the agents' requests run in the worker threads). */
function post(base: string, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      `${base}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function logIn(base: string, logins: string[]): Promise<string[]> {
  const tokens: string[] = new Array<string>(logins.length);
  let next = 0;
  const worker = async () => {
    while (next < logins.length) {
      const index = next++;
      const answer = await post(base, API.login, { tenant: 'bench', login: logins[index], password: PASSWORD });
      if (answer.status !== 200) throw new Error(`login ${logins[index]} failed: ${answer.status} ${answer.body}`);
      tokens[index] = (JSON.parse(answer.body) as { token: string }).token;
    }
  };
  await Promise.all(Array.from({ length: LOGIN_CONCURRENCY }, worker));
  return tokens;
}

/** The agents of one worker thread (bench/support/agent-client.ts). */
class ClientThread {
  readonly #worker: Worker;
  readonly #ready: Promise<void>;
  #figures: Promise<ClientFigures> | null = null;

  constructor(start: ClientStart) {
    this.#worker = new Worker(new URL('./support/agent-client-thread.mjs', import.meta.url), { workerData: start });
    this.#ready = this.#next().then(() => undefined);
  }

  /** The worker's next message; a failure or an early exit rejects. */
  #next(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown) => {
        cleanup();
        const failed = (message as { failed?: string }).failed;
        if (failed) reject(new Error(`agent thread: ${failed}`));
        else resolve(message);
      };
      const onError = (error: Error) => {
        cleanup();
        reject(error);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`agent thread exited with ${code}`));
      };
      const cleanup = () => {
        this.#worker.off('message', onMessage);
        this.#worker.off('error', onError);
        this.#worker.off('exit', onExit);
      };
      this.#worker.on('message', onMessage);
      this.#worker.on('error', onError);
      this.#worker.on('exit', onExit);
    });
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  measure(): void {
    this.#worker.postMessage('measure');
  }

  stop(): Promise<ClientFigures> {
    this.#figures ??= this.#next() as Promise<ClientFigures>;
    this.#worker.postMessage('stop');
    return this.#figures;
  }

  terminate(): Promise<number> {
    return this.#worker.terminate();
  }
}

/**
 * What the backend's PostgreSQL connections wait on while active, sampled every 50 ms: a count
 * per `wait_event_type:wait_event` (`running` when on CPU). Lock waits here are contention the
 * design causes, whatever the machine's load. The sampler holds one connection of its own, whose
 * CPU (`cpuMs`, about 15 ms/s) is taken out of the database's CPU per request.
 */
function samplePostgresWaits(database: BenchDatabase): { cpuMs(): Promise<number | null>; stop(): Promise<Map<string, number>> } {
  const counts = new Map<string, number>();
  let stopped = false;
  let pid!: (value: number | null) => void;
  const samplerPid = new Promise<number | null>((resolve) => (pid = resolve));
  const loop = database.handle.db
    .connection()
    .execute(async (connection) => {
      const { rows: own } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(connection);
      pid(own[0]?.pid ?? null);
      while (!stopped) {
        const { rows } = await sql<{ wait: string; n: number }>`
          select coalesce(wait_event_type || ':' || wait_event, 'running') as wait, count(*)::int as n
          from pg_stat_activity
          where state = 'active' and backend_type = 'client backend' and pid <> pg_backend_pid() and query not like '%LISTEN%'
          group by 1`.execute(connection);
        for (const row of rows) counts.set(row.wait, (counts.get(row.wait) ?? 0) + row.n);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })
    .finally(() => pid(null));
  return {
    async cpuMs() {
      const samplerProcess = await samplerPid;
      return samplerProcess === null ? null : processCpuMs(samplerProcess);
    },
    async stop() {
      stopped = true;
      await loop;
      return counts;
    },
  };
}

/** Connections opened to the bench's database so far (each a process start and cold caches). */
async function postgresSessions(database: BenchDatabase): Promise<number> {
  const { rows } = await sql<{ sessions: string }>`select sessions from pg_stat_database where datname = current_database()`.execute(database.handle.db);
  return Number(rows[0]?.sessions ?? 0);
}

/**
 * CPU time (ms) of a PostgreSQL cluster so far: its postmaster and every process it started
 * (the backend's connections, the writer, the WAL writer…), which bench:agents would otherwise
 * leave out of the CPU the API costs. Null when the cluster's pid cannot be read.
 */
async function postgresCpuMs(database: BenchDatabase): Promise<number | null> {
  const { rows } = await sql<{ setting: string }>`select setting from pg_settings where name = 'data_directory'`.execute(database.handle.db);
  const dataDirectory = rows[0]?.setting;
  return dataDirectory ? postgresClusterCpuMs(dataDirectory) : null;
}

type FanOutSample = FanOutCounters & { atMs: number };

/** The backend's delta-poke counters as it logs them (cumulative, every 10 s while it sends). */
function followFanOut(stdout: NodeJS.ReadableStream | null): FanOutSample[] {
  const samples: FanOutSample[] = [];
  if (!stdout) return samples;
  createInterface({ input: stdout }).on('line', (line) => {
    if (!line.includes('"deltaPokes"')) return;
    try {
      samples.push((JSON.parse(line) as { deltaPokes: FanOutSample }).deltaPokes);
    } catch {
      // Not a log line of ours.
    }
  });
  return samples;
}

/** The fan-out's rates between the first and the last counters logged in the window; null without two. */
function fanOutRates(samples: readonly FanOutSample[]) {
  const first = samples[0];
  const last = samples.at(-1);
  const seconds = first && last ? (last.atMs - first.atMs) / 1000 : 0;
  if (!first || !last || seconds <= 0) return null;
  const rate = (key: keyof FanOutSample) => (last[key] - first[key]) / seconds;
  return {
    fan_out_seconds: Math.round(seconds),
    delta_batches_per_second: roundMs(rate('deltas')),
    bare_batches_per_second: roundMs(rate('bareBatches')),
    delta_stream_writes_per_second: Math.round(rate('streamWrites')),
    delta_mb_written_per_second: roundMs(rate('bytesWritten') / 1e6),
    fan_out_write_cpu_ms_per_second: roundMs(rate('writeCpuMs')),
    fan_out_build_cpu_ms_per_second: roundMs(rate('buildCpuMs')),
  };
}

function summary(latencies: readonly number[]): { p50: number; p99: number; max: number; sorted: number[] } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5) ?? 0, p99: percentile(sorted, 0.99) ?? 0, max: sorted.at(-1) ?? 0, sorted };
}

async function measure(dialect: SqlDialect, agentCount: number, seconds: number, intervalMs: number, threadCount: number): Promise<void> {
  let database: BenchDatabase | undefined;
  const threads: ClientThread[] = [];
  try {
    // Info: the backend logs its delta pokes' counters (the fan-out's cost) every 10 s; requests are logged at debug only.
    database = await openBenchDatabase(dialect, { TSUNAGU_LOG_LEVEL: 'info', ...(dialect === 'postgres' ? { TSUNAGU_PG_POOL_SIZE: '20' } : {}) });
    const setupStarted = performance.now();
    const { logins, incidentIds } = await prepare(database, agentCount);
    const backend = await startBenchBackend(database, `${dialect}-backend`);
    const tokens = await logIn(backend.url, logins);
    const perThread = Math.ceil(tokens.length / threadCount);
    for (let i = 0; i < tokens.length; i += perThread) {
      threads.push(new ClientThread({ base: backend.url, tokens: tokens.slice(i, i + perThread), incidentIds, intervalMs }));
    }
    await Promise.all(threads.map((thread) => thread.ready()));
    console.log(
      `\n${agentCount} agents in ${threads.length} client threads signed in with their event streams open on ${dialect} in ` +
        `${((performance.now() - setupStarted) / 1000).toFixed(1)} s; measuring ${seconds} s`,
    );

    const fanOut = followFanOut(backend.process.child.stdout);
    const waits = dialect === 'postgres' ? samplePostgresWaits(database) : null;
    const backendPid = backend.process.child.pid;
    const backendCpuBefore = processCpuMs(backendPid);
    const postgresCpuBefore = dialect === 'postgres' ? await postgresCpuMs(database) : null;
    const samplerCpuBefore = (await waits?.cpuMs()) ?? null;
    const sessionsBefore = dialect === 'postgres' ? await postgresSessions(database) : 0;
    const clientCpuBefore = process.cpuUsage();
    for (const thread of threads) thread.measure();
    const fanOutBefore = fanOut.length;
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const fanOutWindow = fanOut.slice(Math.max(0, fanOutBefore - 1));
    const backendCpuAfter = processCpuMs(backendPid);
    const postgresCpuAfter = dialect === 'postgres' ? await postgresCpuMs(database) : null;
    const samplerCpuAfter = (await waits?.cpuMs()) ?? null;
    const sessionsOpened = dialect === 'postgres' ? (await postgresSessions(database)) - sessionsBefore : 0;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const figures = await Promise.all(threads.map((thread) => thread.stop()));
    const waited = await waits?.stop();

    const byKind = new Map<string, number[]>();
    const errorKinds = new Map<string, number>();
    const pullsBy = new Map<string, number>();
    let writes = 0;
    let deltasApplied = 0;
    let deltasAlreadyHeld = 0;
    let deltaBytes = 0;
    for (const each of figures) {
      for (const [kind, latencies] of Object.entries(each.latencies)) byKind.set(kind, [...(byKind.get(kind) ?? []), ...latencies]);
      for (const [kind, n] of Object.entries(each.errors)) errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + n);
      for (const [reason, n] of Object.entries(each.pullsBy)) pullsBy.set(reason, (pullsBy.get(reason) ?? 0) + n);
      writes += each.writes;
      deltasApplied += each.deltasApplied;
      deltasAlreadyHeld += each.deltasAlreadyHeld;
      deltaBytes += each.deltaBytes;
    }
    const pulls = [...pullsBy.values()].reduce((a, b) => a + b, 0);
    const errors = [...errorKinds.values()].reduce((a, b) => a + b, 0);
    const all = summary([...byKind.values()].flat());
    const loopDelayP99 = Math.max(...figures.map((each) => each.loopDelayP99Ms));
    const m = machine();
    const perSecond = all.sorted.length / seconds;
    console.log(`Agents on ${dialect}: ${agentCount} agents, ${seconds} s, one note per agent every ${intervalMs / 1000} s (${m.cores} cores, load ${m.load_average_1m}):`);
    console.log(
      `  API latency p50 ${all.p50.toFixed(1)} ms   p99 ${all.p99.toFixed(1)} ms   max ${all.max.toFixed(1)} ms   errors ${errors}   ` +
        `target p99 ≤ ${TARGET_P99_MS} ms and 0 errors: ${all.p99 <= TARGET_P99_MS && errors === 0 ? 'met' : 'MISSED'}`,
    );
    for (const [kind, latencies] of byKind) {
      const each = summary(latencies);
      console.log(`    ${kind.padEnd(5)} ${String(latencies.length).padStart(6)} requests   p50 ${each.p50.toFixed(1)} ms   p99 ${each.p99.toFixed(1)} ms   max ${each.max.toFixed(1)} ms`);
    }
    console.log(
      `  ${all.sorted.length} requests (${perSecond.toFixed(0)}/s): ${writes} notes written, ${pulls} pulls; ` +
        `client event-loop delay p99 ${loopDelayP99.toFixed(1)} ms (worst of ${threads.length} threads)`,
    );
    // CPU per request: what a request costs, whatever the machine's load (the latency is not).
    const backendCpuMs = backendCpuBefore === null || backendCpuAfter === null ? null : backendCpuAfter - backendCpuBefore;
    const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;
    const perRequest = (ms: number) => (all.sorted.length > 0 ? ms / all.sorted.length : 0);
    if (backendCpuMs !== null) {
      console.log(
        `  backend CPU ${(backendCpuMs / 1000).toFixed(1)} s (${(backendCpuMs / (seconds * 10)).toFixed(0)}% of one core), ${perRequest(backendCpuMs).toFixed(2)} ms per request; ` +
          `client CPU ${(clientCpuMs / 1000).toFixed(1)} s, ${perRequest(clientCpuMs).toFixed(2)} ms per request`,
      );
    }
    const samplerCpu = samplerCpuBefore === null || samplerCpuAfter === null ? 0 : samplerCpuAfter - samplerCpuBefore;
    const postgresCpu = postgresCpuBefore === null || postgresCpuAfter === null ? null : postgresCpuAfter - postgresCpuBefore - samplerCpu;
    if (postgresCpu !== null) {
      console.log(
        `  PostgreSQL server CPU ${(postgresCpu / 1000).toFixed(1)} s (${(postgresCpu / (seconds * 10)).toFixed(0)}% of one core), ${perRequest(postgresCpu).toFixed(2)} ms per request ` +
          `(without the wait sampler's own ${(samplerCpu / 1000).toFixed(1)} s); ${sessionsOpened} connections opened`,
      );
    }
    console.log(
      `  pulls by cause: ${[...pullsBy].map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none'}; ` +
        `deltas applied ${deltasApplied} (${(deltasApplied / seconds / agentCount).toFixed(1)} per agent per second), already held ${deltasAlreadyHeld}, ` +
        `${(deltaBytes / seconds / 1e6).toFixed(1)} MB/s received`,
    );
    const fanOutFigures = fanOutRates(fanOutWindow);
    if (fanOutFigures) {
      console.log(
        `  fan-out (backend, over ${fanOutFigures.fan_out_seconds} s of its counters): ${fanOutFigures.delta_batches_per_second} deltas/s and ` +
          `${fanOutFigures.bare_batches_per_second} bare batches/s, ${fanOutFigures.delta_stream_writes_per_second} stream writes/s ` +
          `(${fanOutFigures.delta_mb_written_per_second} MB/s); CPU ${fanOutFigures.fan_out_write_cpu_ms_per_second} ms/s writing, ` +
          `${fanOutFigures.fan_out_build_cpu_ms_per_second} ms/s building`,
      );
    }
    if (errors > 0) console.log(`  errors by kind: ${[...errorKinds].map(([kind, n]) => `${kind} ×${n}`).join(', ')}`);
    if (waited && waited.size > 0) {
      const samples = [...waited.values()].reduce((a, b) => a + b, 0);
      const shares = [...waited].sort((a, b) => b[1] - a[1]).map(([wait, n]) => `${wait} ${((100 * n) / samples).toFixed(0)}%`);
      console.log(`  PostgreSQL active connections by wait (${samples} connection samples): ${shares.join(', ')}`);
    }
    const kindFigures = Object.fromEntries(
      [...byKind].flatMap(([kind, latencies]) => {
        const each = summary(latencies);
        return [
          [`${kind}_p50_ms`, roundMs(each.p50)],
          [`${kind}_p99_ms`, roundMs(each.p99)],
        ];
      }),
    );
    // A run at another scale is kept beside the headline one, not over it.
    mergeResults(agentCount === 1000 ? `agents-${dialect}` : `agents-${dialect}-${agentCount}`, {
      p50_ms: roundMs(all.p50),
      p99_ms: roundMs(all.p99),
      max_ms: roundMs(all.max),
      target_p99_ms: TARGET_P99_MS,
      errors,
      ...(errors > 0 ? { error_kinds: [...errorKinds].map(([kind, n]) => `${kind} ×${n}`).join(', ') } : {}),
      ...kindFigures,
      agents: agentCount,
      client_threads: threads.length,
      seconds,
      requests: all.sorted.length,
      per_second: Math.round(perSecond),
      notes_written: writes,
      pulls,
      pulls_by_cause: Object.fromEntries(pullsBy),
      deltas_applied: deltasApplied,
      deltas_already_held: deltasAlreadyHeld,
      delta_mb_received_per_second: roundMs(deltaBytes / seconds / 1e6),
      ...(fanOutFigures ?? {}),
      write_interval_ms: intervalMs,
      client_loop_delay_p99_ms: roundMs(loopDelayP99),
      ...(backendCpuMs === null ? {} : { backend_cpu_ms_per_request: roundMs(perRequest(backendCpuMs)) }),
      client_cpu_ms_per_request: roundMs(perRequest(clientCpuMs)),
      ...(postgresCpu === null ? {} : { postgres_cpu_ms_per_request: roundMs(perRequest(postgresCpu)) }),
      // BENCH_CPU_PROF_DIR: the backend ran under --cpu-prof, which costs it some CPU.
      ...(process.env.BENCH_CPU_PROF_DIR ? { backend_cpu_profiled: true } : {}),
      database: dialect,
      ...m,
      measured_at: new Date().toISOString(),
    });
  } finally {
    await Promise.all(threads.map((thread) => thread.terminate()));
    await stopAll();
    await database?.dispose();
  }
}

async function main(): Promise<void> {
  const agents = envInteger('BENCH_AGENTS', 1000, 1, 100_000);
  const seconds = envInteger('BENCH_SECONDS', 60, 1, 3600);
  const intervalMs = envInteger('BENCH_WRITE_INTERVAL_MS', 10_000, 100, 3_600_000);
  const threads = envInteger('BENCH_CLIENT_THREADS', 4, 1, 64);
  const databases = (process.env.BENCH_DATABASES ?? 'postgres,sqlite').split(',').map((d) => d.trim());
  for (const dialect of databases) {
    if (dialect !== 'sqlite' && dialect !== 'postgres') throw new Error(`BENCH_DATABASES: unknown database ${JSON.stringify(dialect)} (sqlite or postgres)`);
    await measure(dialect, agents, seconds, intervalMs, threads);
  }
  console.log('Wrote bench/results.json');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
