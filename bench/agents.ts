/**
 * `npm run bench:agents`: a thousand operators' apps against one backend process, on
 * PostgreSQL and on SQLite. Each simulated agent is a lightweight HTTP client that behaves as
 * the app's sync engine does (electron/core/sync/sync-engine.ts): it keeps the event stream
 * (`GET /api/events`) open, pulls `GET /api/sync/changes` after its cursor when a `changed`
 * poke is newer than the cursor (one pull at a time; a poke during a pull asks for one more),
 * and pushes one note (`POST /api/sync/push`) every BENCH_WRITE_INTERVAL_MS (default 10 s),
 * the first at a random moment of the first interval. The agents run in this process, the
 * backend in its own (backend/src/main.ts), both on loopback.
 *
 * Figures: p50/p99/max latency of every API request of the measured window (pulls and pushes,
 * send to last byte), the error count (a non-2xx answer, a failed request, an event stream
 * that broke), requests per second, and the writes and pulls made. Logins and the first
 * pull happen before the window. Records `agents-postgres` and `agents-sqlite` in
 * bench/results.json (`agents-sqlite-200` and so on for another BENCH_AGENTS). BENCH_AGENTS (default 1000), BENCH_SECONDS (default 60),
 * BENCH_DATABASES (default postgres,sqlite).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { SqlDialect } from '../backend/src/db/database.js';
import { createCustomerRecord, createTenant, createUser } from '../backend/src/testing/fixtures.js';
import { stopAll } from '../e2e/support/processes.js';
import { API } from '../shared/api.js';
import { envInteger, mergeResults, percentile } from './cache-file.js';
import { machine, openBenchDatabase, roundMs, startBenchBackend, type BenchDatabase } from './support/backend.js';

const TARGET_P99_MS = 50;
const PASSWORD = 'bench-agents-password';
const CUSTOMERS = 200;
const LOGIN_CONCURRENCY = 8;

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

interface Answer {
  status: number;
  body: string;
}

function request(base: string, method: 'GET' | 'POST', path: string, token: string | null, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const req = http.request(`${base}${path}`, { method, headers, agent: keepAlive }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

class Recorder {
  measuring = false;
  readonly latencies: number[] = [];
  errors = 0;
  readonly errorKinds = new Map<string, number>();
  pulls = 0;
  writes = 0;

  error(kind: string): void {
    if (!this.measuring) return;
    this.errors++;
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
  }

  /** One timed API request; a non-2xx answer or a failure counts as an error. */
  async timed(kind: string, run: () => Promise<Answer>): Promise<Answer | null> {
    const started = performance.now();
    try {
      const answer = await run();
      if (this.measuring) this.latencies.push(performance.now() - started);
      if (answer.status < 200 || answer.status >= 300) {
        this.error(`${kind} ${answer.status}`);
        return null;
      }
      return answer;
    } catch (error) {
      this.error(`${kind} ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  }
}

class SimulatedAgent {
  cursor = 0;
  #pulling = false;
  #again = false;
  #stream: http.ClientRequest | null = null;
  #writer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly incidentIds: readonly string[],
    private readonly recorder: Recorder,
  ) {}

  /** The first pull (before the window), then the event stream; resolves once it is open. */
  async start(): Promise<void> {
    await this.#pull();
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      this.#stream = http.get(`${this.base}${API.events}`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${this.token}` }, agent: false }, (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`event stream answered ${response.statusCode}`));
          return;
        }
        resolve();
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            this.#event(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        });
        response.on('close', () => {
          if (!this.#stopped) this.recorder.error('event stream closed');
        });
      });
      this.#stream.on('error', (error) => {
        if (!this.#stopped) this.recorder.error(`event stream ${error.message}`);
        reject(error);
      });
    });
  }

  /** Writes one note every interval, the first at a random moment of the first. */
  startWriting(intervalMs: number): void {
    const write = () => void this.#write();
    this.#writer = setTimeout(() => {
      write();
      this.#writer = setInterval(write, intervalMs);
    }, Math.random() * intervalMs);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#writer) clearTimeout(this.#writer);
    this.#stream?.destroy();
  }

  #event(block: string): void {
    let event = '';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (event !== 'changed') return;
    let seq = Number.POSITIVE_INFINITY;
    try {
      const parsed = JSON.parse(data) as { seq?: unknown };
      if (typeof parsed.seq === 'number') seq = parsed.seq;
    } catch {
      // A poke without a readable sequence still means "something changed".
    }
    if (seq > this.cursor) void this.#pull();
  }

  async #pull(): Promise<void> {
    if (this.#pulling) {
      this.#again = true;
      return;
    }
    this.#pulling = true;
    try {
      do {
        this.#again = false;
        let more = true;
        while (more && !this.#stopped) {
          const answer = await this.recorder.timed('pull', () => request(this.base, 'GET', `${API.syncChanges}?after=${this.cursor}`, this.token));
          if (!answer) return;
          if (this.recorder.measuring) this.recorder.pulls++;
          const page = JSON.parse(answer.body) as { cursor: number; hasMore: boolean };
          this.cursor = page.cursor;
          more = page.hasMore;
        }
      } while (this.#again && !this.#stopped);
    } finally {
      this.#pulling = false;
    }
  }

  async #write(): Promise<void> {
    if (this.#stopped) return;
    const incidentId = this.incidentIds[Math.floor(Math.random() * this.incidentIds.length)]!;
    const entry = { type: 'add_note', clientId: randomUUID(), incidentId, body: `bench note ${Date.now()}`, createdAt: new Date().toISOString() };
    const answer = await this.recorder.timed('push', () => request(this.base, 'POST', API.syncPush, this.token, { entries: [entry] }));
    if (!answer) return;
    const { results } = JSON.parse(answer.body) as { results: { status: string; error: string | null }[] };
    if (results[0]?.status !== 'applied') this.recorder.error(`push ${results[0]?.status ?? 'no result'}: ${results[0]?.error ?? ''}`);
    else if (this.recorder.measuring) this.recorder.writes++;
  }
}

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

async function logIn(base: string, logins: string[]): Promise<string[]> {
  const tokens: string[] = new Array<string>(logins.length);
  let next = 0;
  const worker = async () => {
    while (next < logins.length) {
      const index = next++;
      const answer = await request(base, 'POST', API.login, null, { tenant: 'bench', login: logins[index], password: PASSWORD });
      if (answer.status !== 200) throw new Error(`login ${logins[index]} failed: ${answer.status} ${answer.body}`);
      tokens[index] = (JSON.parse(answer.body) as { token: string }).token;
    }
  };
  await Promise.all(Array.from({ length: LOGIN_CONCURRENCY }, worker));
  return tokens;
}

async function measure(dialect: SqlDialect, agentCount: number, seconds: number, intervalMs: number): Promise<void> {
  let database: BenchDatabase | undefined;
  const agents: SimulatedAgent[] = [];
  try {
    database = await openBenchDatabase(dialect, dialect === 'postgres' ? { TSUNAGU_PG_POOL_SIZE: '20' } : {});
    const setupStarted = performance.now();
    const { logins, incidentIds } = await prepare(database, agentCount);
    const backend = await startBenchBackend(database, `${dialect}-backend`);
    const tokens = await logIn(backend.url, logins);
    const recorder = new Recorder();
    for (const token of tokens) {
      const agent = new SimulatedAgent(backend.url, token, incidentIds, recorder);
      agents.push(agent);
      await agent.start();
    }
    console.log(`\n${agentCount} agents signed in with their event streams open on ${dialect} in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s; measuring ${seconds} s`);

    // Event-loop delay of this (client) process: if it is large, the figures include it.
    const { monitorEventLoopDelay } = await import('node:perf_hooks');
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    recorder.measuring = true;
    for (const agent of agents) agent.startWriting(intervalMs);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    recorder.measuring = false;
    loopDelay.disable();
    for (const agent of agents) agent.stop();

    const sorted = [...recorder.latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 0.5);
    const p99 = percentile(sorted, 0.99);
    const max = sorted.at(-1) ?? 0;
    const m = machine();
    const perSecond = sorted.length / seconds;
    console.log(`Agents on ${dialect}: ${agentCount} agents, ${seconds} s, one note per agent every ${intervalMs / 1000} s (${m.cores} cores, load ${m.load_average_1m}):`);
    console.log(
      `  API latency p50 ${p50.toFixed(1)} ms   p99 ${p99.toFixed(1)} ms   max ${max.toFixed(1)} ms   errors ${recorder.errors}   ` +
        `target p99 ≤ ${TARGET_P99_MS} ms and 0 errors: ${p99 <= TARGET_P99_MS && recorder.errors === 0 ? 'met' : 'MISSED'}`,
    );
    console.log(`  ${sorted.length} requests (${perSecond.toFixed(0)}/s): ${recorder.writes} notes written, ${recorder.pulls} pulls; client event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms`);
    if (recorder.errors > 0) console.log(`  errors: ${[...recorder.errorKinds].map(([kind, n]) => `${kind} ×${n}`).join(', ')}`);
    // A run at another scale is kept beside the headline one, not over it.
    mergeResults(agentCount === 1000 ? `agents-${dialect}` : `agents-${dialect}-${agentCount}`, {
      p50_ms: roundMs(p50),
      p99_ms: roundMs(p99),
      max_ms: roundMs(max),
      target_p99_ms: TARGET_P99_MS,
      errors: recorder.errors,
      agents: agentCount,
      seconds,
      requests: sorted.length,
      per_second: Math.round(perSecond),
      notes_written: recorder.writes,
      pulls: recorder.pulls,
      write_interval_ms: intervalMs,
      client_loop_delay_p99_ms: roundMs(loopDelay.percentile(99) / 1e6),
      database: dialect,
      ...m,
      measured_at: new Date().toISOString(),
    });
  } finally {
    for (const agent of agents) agent.stop();
    await stopAll();
    await database?.dispose();
  }
}

async function main(): Promise<void> {
  const agents = envInteger('BENCH_AGENTS', 1000, 1, 100_000);
  const seconds = envInteger('BENCH_SECONDS', 60, 1, 3600);
  const intervalMs = envInteger('BENCH_WRITE_INTERVAL_MS', 10_000, 100, 3_600_000);
  const databases = (process.env.BENCH_DATABASES ?? 'postgres,sqlite').split(',').map((d) => d.trim());
  for (const dialect of databases) {
    if (dialect !== 'sqlite' && dialect !== 'postgres') throw new Error(`BENCH_DATABASES: unknown database ${JSON.stringify(dialect)} (sqlite or postgres)`);
    await measure(dialect, agents, seconds, intervalMs);
  }
  keepAlive.destroy();
  console.log('Wrote bench/results.json');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
