import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { UserRights } from '../../../shared/domain.js';
import type { IpcChannel, IpcRequest, IpcResult, SyncStatus } from '../../../shared/ipc.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import type { Result } from '../../../shared/result.js';
import { loadConfig } from '../../../backend/src/config.js';
import { openDatabase, type DatabaseHandle } from '../../../backend/src/db/database.js';
import { migrateToLatest } from '../../../backend/src/db/migrate.js';
import { DEMO_USERS, seedBackend } from '../../../backend/src/seed/seed-backend.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { cacheHoldings, serverHoldings } from '../testing/holdings.js';

/**
 * Issue 13's kill drills with real processes: the core runs in a process of its own
 * (testing/core-process.ts) and the backend is its own main.ts, and each is killed with SIGKILL
 * at a chosen moment: a first sync at 30 % and at 70 %, an outbox push mid-way, a backend under
 * writes from two agents, and one of two instances behind the app's URL list. Each drill asserts
 * row counts and checksums against the server, never timings.
 */

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BACKEND_MAIN = path.join(REPO, 'backend/src/main.ts');
const CORE_PROCESS = path.join(REPO, 'electron/core/testing/core-process.ts');
/** Bounds every wait, so a broken drill fails with what it last saw instead of hanging. */
const WAIT_LIMIT_MS = 60_000;
/** A drill starts processes and waits on several of them in turn. */
const DRILL_TIMEOUT_MS = 240_000;
const CUSTOMERS = 1_200;

const agent = (login: 'agent1' | 'agent2') => {
  const account = DEMO_USERS.find((user) => user.login === login)!;
  return { tenant: 'demo', login, password: account.password };
};

/** Lines of a child's output, with waiters for the first line that matches. */
class Lines {
  readonly seen: string[] = [];
  readonly #waiters = new Set<(line: string) => void>();
  constructor(child: ChildProcess) {
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => this.push(line));
  }
  push(line: string): void {
    this.seen.push(line);
    for (const waiter of [...this.#waiters]) waiter(line);
  }
  tail(): string {
    return this.seen.slice(-20).join('\n');
  }
  /** Adds a listener for every later line; returns its removal. */
  listen(listener: (line: string) => void): () => void {
    this.#waiters.add(listener);
    return () => this.#waiters.delete(listener);
  }
}

interface Running {
  kind: 'backend' | 'core';
  child: ChildProcess;
  lines: Lines;
  exited: Promise<void>;
}

const running = new Set<Running>();

function run(kind: Running['kind'], args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: REPO, env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started: Running = { kind, child, lines: new Lines(child), exited };
  running.add(started);
  void exited.then(() => running.delete(started));
  return started;
}

function waitFor<T>(lines: Lines, exited: Promise<void>, match: (line: string) => T | undefined, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (then: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(limit);
      stop();
      then();
    };
    const fail = (why: string) => settle(() => reject(new Error(`${why} ${what}; last output:\n${lines.tail()}`)));
    const limit = setTimeout(() => fail('timed out waiting for'), WAIT_LIMIT_MS);
    const stop = lines.listen((line) => {
      const found = match(line);
      if (found !== undefined) settle(() => resolve(found));
    });
    void exited.then(() => fail('exited while waiting for'));
  });
}

async function kill(process: Running): Promise<void> {
  process.child.kill('SIGKILL');
  await process.exited;
}

// ---------------------------------------------------------------------------------------------
// The backend, as its own process on a database that outlives it.

interface Backend extends Running {
  url: string;
  port: number;
}

/** The drills need no mail: no SMTP listener (its fixed port would clash between instances), no sender. */
const NO_MAIL = { TSUNAGU_SMTP_ENABLED: 'false', TSUNAGU_MAIL_SENDER_ENABLED: 'false' };

async function startBackend(database: Record<string, string>, port = 0): Promise<Backend> {
  const started = run('backend', [BACKEND_MAIN], { ...database, TSUNAGU_BACKEND_PORT: String(port), TSUNAGU_LOG_LEVEL: 'warn', ...NO_MAIL });
  const url = await waitFor(started.lines, started.exited, (line) => line.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)?.[1], 'the backend to listen');
  return { ...started, url, port: Number(new URL(url).port) };
}

async function seed(database: Record<string, string>, customers: number): Promise<void> {
  const config = loadConfig({ ...database, TSUNAGU_ARGON2_MEMORY_KIB: '256', TSUNAGU_ARGON2_TIME_COST: '1', TSUNAGU_LOG_LEVEL: 'silent' });
  const handle = await openDatabase(config);
  try {
    await migrateToLatest(handle);
    await seedBackend({ handle, argon2: config.argon2, customers, seed: 13, now: new Date('2026-12-01T00:00:00Z') });
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The core, as its own process, driven over JSON lines.

interface CoreMessage {
  event?: string;
  payload?: unknown;
  id?: number;
  result?: Result<unknown>;
}

class CoreProcess {
  readonly process: Running;
  readonly statuses: SyncStatus[] = [];
  #nextId = 1;
  constructor(
    readonly dataDir: string,
    backendUrl: string,
    tuning: Record<string, number>,
  ) {
    this.process = run('core', [CORE_PROCESS], { DRILL_DATA_DIR: dataDir, DRILL_BACKEND_URL: backendUrl, DRILL_SYNC_TUNING: JSON.stringify(tuning), TSUNAGU_LOG_LEVEL: 'warn' });
    this.process.lines.listen((line) => {
      const message = parse(line);
      if (message?.event === 'sync:status') this.statuses.push(message.payload as SyncStatus);
    });
  }

  async call<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<IpcResult<C>> {
    const id = this.#nextId++;
    const answer = waitFor(this.process.lines, this.process.exited, (line) => {
      const message = parse(line);
      return message?.id === id ? message.result : undefined;
    }, `the answer to ${channel}`);
    this.process.child.stdin!.write(`${JSON.stringify({ id, channel, payload })}\n`);
    const result = await answer;
    if (!result!.ok) throw new Error(`${channel} failed: ${result!.error.code}: ${result!.error.message}`);
    return result!.value as IpcResult<C>;
  }

  /** The first event (from now on) named `event` whose payload matches. */
  nextEvent<T>(event: string, match: (payload: T) => boolean, what: string): Promise<T> {
    return waitFor(this.process.lines, this.process.exited, (line) => {
      const message = parse(line);
      return message?.event === event && match(message.payload as T) ? (message.payload as T) : undefined;
    }, what);
  }

  /** The first status, current or later, that matches. */
  async status(match: (status: SyncStatus) => boolean, what: string): Promise<SyncStatus> {
    const later = this.nextEvent<SyncStatus>('sync:status', match, what);
    const current = await this.call('sync:status', undefined);
    if (match(current)) {
      later.catch(() => undefined);
      return current;
    }
    return later;
  }

  /** Quits as the app does (the core closes its cache). */
  async quit(): Promise<void> {
    this.process.child.stdin!.end();
    await this.process.exited;
  }
}

function parse(line: string): CoreMessage | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as CoreMessage;
  } catch {
    return null;
  }
}

function userDir(core: CoreProcess, tenantId: string, userId: string): string {
  return path.join(core.dataDir, tenantId, userId);
}

// ---------------------------------------------------------------------------------------------

const folders: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  folders.push(dir);
  return dir;
}

/** Every process a drill started is stopped by its pid: cores after each drill, backends at the end. */
const killAll = async (kind?: Running['kind']) => {
  for (const started of [...running]) if (kind === undefined || started.kind === kind) await kill(started);
};

afterEach(() => killAll('core'));

afterAll(async () => {
  await killAll();
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

interface Ids {
  tenantId: string;
  users: Record<'agent1' | 'agent2', string>;
  /** An incident of a customer both agents may see. */
  incidentId: string;
}

async function idsOf(handle: DatabaseHandle): Promise<Ids> {
  const tenant = await handle.db.selectFrom('tenants').select('id').where('slug', '=', 'demo').executeTakeFirstOrThrow();
  const users = await handle.db.selectFrom('users').selectAll().where('tenant_id', '=', tenant.id).where('login', 'in', ['agent1', 'agent2']).execute();
  const rights = users.map((user) => ({ role: user.role, branch: user.branch, customerLimitAuthority: user.customer_limit_authority }) as UserRights);
  const incidents = await handle.db
    .selectFrom('incidents')
    .innerJoin('customers', 'customers.id', 'incidents.customer_id')
    .select(['incidents.id', 'customers.classification', 'customers.branch'])
    .where('customers.tenant_id', '=', tenant.id)
    .orderBy('incidents.id')
    .limit(200)
    .execute();
  const shared = incidents.find((row) => rights.every((r) => maySeeCustomer(r, { classification: row.classification as 1 | 2 | 3, branch: row.branch })));
  if (!shared) throw new Error('the seed has no incident both agents may see');
  const idOf = (login: string) => users.find((user) => user.login === login)!.id;
  return { tenantId: tenant.id, users: { agent1: idOf('agent1'), agent2: idOf('agent2') }, incidentId: shared.id };
}

async function withHandle<T>(database: Record<string, string>, work: (handle: DatabaseHandle) => Promise<T>): Promise<T> {
  const handle = await openDatabase(loadConfig({ ...database, TSUNAGU_LOG_LEVEL: 'silent' }));
  try {
    return await work(handle);
  } finally {
    await handle.close();
  }
}

/**
 * The end of a drill: one last sync, the core stopped, then each of `notes` is on the server
 * exactly once and agent1's cache holds exactly the server's rows.
 */
async function finishAndCompare(core: CoreProcess, database: Record<string, string>, ids: Ids, marker: string, notes: readonly string[]): Promise<void> {
  await core.call('sync:now', {});
  await core.quit();
  await withHandle(database, async (handle) => {
    expect(await notesMarked(handle, marker)).toEqual(notes);
    expect(await cacheHoldings(userDir(core, ids.tenantId, ids.users.agent1))).toEqual(await serverHoldings(handle.db, ids.tenantId, ids.users.agent1));
  });
}

/** The bodies of the server's notes that start with `marker`, sorted. */
function notesMarked(handle: DatabaseHandle, marker: string): Promise<string[]> {
  return handle.db
    .selectFrom('contacts')
    .select('body')
    .where('body', 'like', `${marker}%`)
    .orderBy('body')
    .execute()
    .then((rows) => rows.map((row) => row.body));
}

const bodies = (marker: string, from: number, count: number) => Array.from({ length: count }, (_, i) => `${marker} ${String(from + i).padStart(4, '0')}`);

describe('kill drills on SQLite (real processes, SIGKILL)', () => {
  let database: Record<string, string>;
  let backend: Backend;
  let ids: Ids;

  beforeAll(async () => {
    database = { TSUNAGU_DB_PATH: path.join(tempDir('tsunagu-drill-backend-'), 'backend.db') };
    await seed(database, CUSTOMERS);
    ids = await withHandle(database, idsOf);
    backend = await startBackend(database);
  });

  // A drill that failed while its backend was down leaves the next one a live backend.
  beforeEach(async () => {
    if (backend.child.exitCode !== null || backend.child.signalCode !== null) backend = await startBackend(database, backend.port);
  });

  it('a first sync killed at 30 % and at 70 % resumes where it stopped and ends with exactly the server\'s rows', async () => {
    const dataDir = tempDir('tsunagu-drill-core-');
    const tuning = { snapshotPageSize: 50 };
    const progressAt = (core: CoreProcess, share: number) =>
      core.nextEvent<SyncStatus>('sync:status', (s) => s.progress !== null && s.progress.total > 0 && s.progress.done >= share * s.progress.total, `${share * 100} % of the first sync`);

    let core = new CoreProcess(dataDir, backend.url, tuning);
    const at30 = progressAt(core, 0.3);
    await core.call('session:login', agent('agent2'));
    const killedAt30 = (await at30).progress!;
    await kill(core.process);
    expect(killedAt30.done).toBeLessThan(killedAt30.total);

    core = new CoreProcess(dataDir, backend.url, tuning);
    const resumed = core.nextEvent<SyncStatus>('sync:status', (s) => s.progress !== null && s.progress.done > 0, 'the resumed first sync');
    const at70 = progressAt(core, 0.7);
    await core.call('session:login', agent('agent2'));
    // What was written before the kill is kept: the restart does not begin from nothing.
    expect((await resumed).progress!.done).toBeGreaterThanOrEqual(killedAt30.done);
    const killedAt70 = (await at70).progress!;
    await kill(core.process);
    expect(killedAt70.done).toBeLessThan(killedAt70.total);

    core = new CoreProcess(dataDir, backend.url, tuning);
    const resumedAgain = core.nextEvent<SyncStatus>('sync:status', (s) => s.progress !== null && s.progress.done > 0, 'the first sync resumed again');
    await core.call('session:login', agent('agent2'));
    expect((await resumedAgain).progress!.done).toBeGreaterThanOrEqual(killedAt70.done);
    await core.status((s) => s.phase === 'idle' && s.online && s.cachedCustomers > 0, 'idle after the first sync');
    await core.quit();

    const server = await withHandle(database, (handle) => serverHoldings(handle.db, ids.tenantId, ids.users.agent2));
    expect(server.customers).toBeGreaterThan(CUSTOMERS / 2);
    expect(await cacheHoldings(userDir(core, ids.tenantId, ids.users.agent2))).toEqual(server);
  }, DRILL_TIMEOUT_MS);

  it('an outbox push killed mid-way loses and duplicates nothing', async () => {
    const dataDir = tempDir('tsunagu-drill-core-');
    const tuning = { pushBatchSize: 10 };
    const marker = 'drill outbox';
    const notes = bodies(marker, 1, 120);

    let core = new CoreProcess(dataDir, backend.url, tuning);
    await core.call('session:login', agent('agent1'));
    await core.status((s) => s.phase === 'idle' && s.online, 'idle after the first sync');
    // The backend goes away, and 120 notes wait in the outbox.
    await kill(backend);
    for (const body of notes) await core.call('notes:add', { incidentId: ids.incidentId, body });
    await core.status((s) => s.pendingOutbox === notes.length, 'all notes pending');

    const firstBatch = core.nextEvent<{ entries: unknown[] }>('outbox:delivered', (d) => d.entries.length > 0, 'the first pushed batch');
    backend = await startBackend(database, backend.port);
    await firstBatch;
    // Killed between two batches of the push: the next batch may be on the wire.
    await kill(core.process);
    const pushedBeforeKill = await withHandle(database, (handle) => notesMarked(handle, marker));
    expect(pushedBeforeKill.length).toBeGreaterThan(0);
    expect(pushedBeforeKill.length).toBeLessThan(notes.length);

    core = new CoreProcess(dataDir, backend.url, tuning);
    await core.call('session:login', agent('agent1'));
    await core.status((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'idle with the outbox empty');
    await finishAndCompare(core, database, ids, marker, notes);
  }, DRILL_TIMEOUT_MS);

  it('a backend killed under writes from two agents loses nothing, and both caches end with the server\'s rows', async () => {
    const marker = 'drill two agents';
    const cores = {
      agent1: new CoreProcess(tempDir('tsunagu-drill-core-'), backend.url, { pushBatchSize: 5 }),
      agent2: new CoreProcess(tempDir('tsunagu-drill-core-'), backend.url, { pushBatchSize: 5 }),
    };
    for (const login of ['agent1', 'agent2'] as const) {
      await cores[login].call('session:login', agent(login));
      await cores[login].status((s) => s.phase === 'idle' && s.online, `${login} idle after the first sync`);
    }
    const written = { agent1: bodies(`${marker} agent1`, 1, 40), agent2: bodies(`${marker} agent2`, 1, 40) };

    // The backend is killed once agent1's notes have started to arrive; both keep writing.
    let delivered = 0;
    const someDelivered = cores.agent1.nextEvent<{ entries: unknown[] }>('outbox:delivered', (d) => (delivered += d.entries.length) >= 5, 'agent1\'s first notes stored');
    const writing = Promise.all(
      (['agent1', 'agent2'] as const).map(async (login) => {
        for (const body of written[login]) await cores[login].call('notes:add', { incidentId: ids.incidentId, body });
      }),
    );
    await someDelivered;
    await kill(backend);
    const storedBeforeKill = await withHandle(database, (handle) => notesMarked(handle, marker));
    backend = await startBackend(database, backend.port);
    await writing;
    expect(storedBeforeKill.length).toBeGreaterThan(0);

    for (const login of ['agent1', 'agent2'] as const) {
      await cores[login].status((s) => s.online && s.pendingOutbox === 0, `${login} with its outbox empty`);
    }
    // Each pulls what the other wrote, then quits.
    for (const login of ['agent1', 'agent2'] as const) {
      await cores[login].call('sync:now', {});
      await cores[login].quit();
    }

    await withHandle(database, async (handle) => {
      expect(await notesMarked(handle, marker)).toEqual([...written.agent1, ...written.agent2].sort());
      for (const login of ['agent1', 'agent2'] as const) {
        expect(await cacheHoldings(userDir(cores[login], ids.tenantId, ids.users[login]))).toEqual(await serverHoldings(handle.db, ids.tenantId, ids.users[login]));
      }
    });
  }, DRILL_TIMEOUT_MS);
});

describe('an instance killed behind the URL list (two backends on one PostgreSQL)', () => {
  let database: Record<string, string>;
  let drop: () => Promise<void>;
  let ids: Ids;

  beforeAll(async () => {
    const created = await createTestDatabase(inject('pgUrl'));
    database = { DATABASE_URL: created.url };
    drop = () => created.drop();
    await seed(database, 300);
    ids = await withHandle(database, idsOf);
  });

  afterAll(async () => {
    await killAll();
    await drop?.();
  });

  it('moves to the live instance and sends every note once', async () => {
    const instances = [await startBackend(database), await startBackend(database)];
    const marker = 'drill failover';
    const core = new CoreProcess(tempDir('tsunagu-drill-core-'), instances.map((instance) => instance.url).join(','), { pushBatchSize: 5 });
    await core.call('session:login', agent('agent1'));
    const before = await core.status((s) => s.phase === 'idle' && s.online, 'idle after the first sync');
    const active = instances.find((instance) => instance.url === before.backend);
    const other = instances.find((instance) => instance !== active)!;
    expect(active).toBeDefined();

    const notes = bodies(marker, 1, 40);
    for (const body of notes.slice(0, 20)) await core.call('notes:add', { incidentId: ids.incidentId, body });
    await kill(active!);
    for (const body of notes.slice(20)) await core.call('notes:add', { incidentId: ids.incidentId, body });

    await core.status((s) => s.online && s.pendingOutbox === 0 && s.backend === other.url, 'online on the other instance with the outbox empty');
    await finishAndCompare(core, database, ids, marker, notes);
  }, DRILL_TIMEOUT_MS);
});
