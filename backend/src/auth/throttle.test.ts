import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ApiErrorBody } from '../../../shared/api.js';
import { buildApp } from '../app.js';
import type { LoginThrottleConfig, ThrottlePolicy } from '../config.js';
import { createUser } from '../testing/fixtures.js';
import { DIALECTS, openTestDatabase, startTestBackend, type TestBackend, type TestDatabase } from '../testing/harness.js';
import { PasswordChecker, verifyPassword } from './passwords.js';
import { delayAfterFailures, LoginThrottle, throttleKeys } from './throttle.js';
import { WorkLimiter, WorkQueueFullError } from './work-limiter.js';

const policy: ThrottlePolicy = { freeFailures: 3, lockAfterFailures: 10, lockSeconds: 900, maxDelaySeconds: 30, windowSeconds: 900 };

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('delayAfterFailures', () => {
  it('costs nothing for the free failures, then doubles, then locks', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => delayAfterFailures(policy, n))).toEqual([0, 0, 0, 1, 2, 4, 8, 16, 30, 900, 900]);
  });
});

describe('WorkLimiter', () => {
  it('runs at most maxConcurrent jobs, queues maxQueued more in order, and refuses the rest at once', async () => {
    const limiter = new WorkLimiter(2, 3);
    const gates = Array.from({ length: 5 }, deferred);
    let peak = 0;
    const started: number[] = [];
    const jobs = gates.map((gate, index) =>
      limiter.run(async () => {
        started.push(index);
        peak = Math.max(peak, limiter.running);
        await gate.promise;
        return index;
      }),
    );
    await expect(limiter.run(async () => 'late')).rejects.toBeInstanceOf(WorkQueueFullError);
    expect(limiter.running).toBe(2);
    expect(limiter.queued).toBe(3);
    for (const gate of gates) gate.resolve();
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(limiter.running).toBe(0);
  });

  it('names a bad setting', () => {
    expect(() => new WorkLimiter(0, 1)).toThrow(/maxConcurrent/);
    expect(() => new WorkLimiter(1, -1)).toThrow(/maxQueued/);
  });
});

describe('PasswordChecker', () => {
  it('bounds concurrent argon2 work and turns away checks past its line without hashing', async () => {
    const gate = deferred();
    let verifying = 0;
    let peak = 0;
    let calls = 0;
    const checker = new PasswordChecker({ memoryKib: 256, timeCost: 1, parallelism: 1 }, { maxConcurrentChecks: 2, maxQueuedChecks: 2 }, async (hash, password) => {
      calls += 1;
      verifying += 1;
      peak = Math.max(peak, verifying);
      await gate.promise;
      verifying -= 1;
      return verifyPassword(hash, password);
    });
    const flood = Array.from({ length: 10 }, () => checker.verifyOrDecoy('$argon2id$not-a-hash', 'guess').catch((error: unknown) => error));
    gate.resolve();
    const results = await Promise.all(flood);
    expect(results.filter((r) => r instanceof WorkQueueFullError)).toHaveLength(6);
    expect(results.filter((r) => r === false)).toHaveLength(4);
    expect(peak).toBe(2);
    expect(calls).toBe(4);
  });
});

describe.each(DIALECTS)('login throttle state on %s', (dialect) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(dialect);
  });
  afterAll(() => database?.dispose());

  const config: LoginThrottleConfig = {
    account: policy,
    address: { ...policy, freeFailures: 5, lockAfterFailures: 20 },
    requestsPerMinute: 1000,
    maxConcurrentChecks: 2,
    maxQueuedChecks: 8,
  };

  it('grows the delay, then locks; the lock passes with time; a right password starts afresh', async () => {
    let now = new Date('2026-03-02T09:00:00.000Z');
    const clock = () => now;
    const advance = (seconds: number) => (now = new Date(now.getTime() + seconds * 1000));
    // Two throttles on one database: two backend instances share one count.
    const first = new LoginThrottle(database.handle, config, clock);
    const second = new LoginThrottle(database.handle, config, clock);
    const keys = throttleKeys('demo', 'Agent', '192.0.2.10');

    for (let n = 1; n <= 3; n += 1) expect(await (n % 2 ? first : second).admit(keys)).toEqual({ admitted: true });
    expect(await second.admit(keys)).toEqual({ admitted: true });
    // The 4th attempt reserved a 1 s delay before its password was even checked.
    expect(await first.admit(keys)).toEqual({ admitted: false, retryAfterSeconds: 1, lockedKey: 'account' });
    expect(await second.admit(throttleKeys(' DEMO ', 'agent', '192.0.2.99'))).toMatchObject({ admitted: false, lockedKey: 'account' });
    advance(1);
    expect(await second.admit(keys)).toEqual({ admitted: true });
    expect(await first.admit(keys)).toEqual({ admitted: false, retryAfterSeconds: 2, lockedKey: 'account' });
    for (const wait of [2, 4, 8, 16, 30]) {
      advance(wait);
      expect(await first.admit(keys)).toEqual({ admitted: true });
    }
    // The 10th failure locks the account for the lock time.
    expect(await first.admit(keys)).toEqual({ admitted: false, retryAfterSeconds: 900, lockedKey: 'account' });
    advance(899);
    expect(await second.admit(keys)).toMatchObject({ admitted: false, retryAfterSeconds: 1 });
    advance(1);
    expect(await second.admit(keys)).toEqual({ admitted: true });
    await second.succeeded(keys);
    for (let n = 1; n <= 3; n += 1) expect(await first.admit(keys)).toEqual({ admitted: true });
  });

  it('throttles an address across accounts, and leaves other addresses alone', async () => {
    let now = new Date('2026-03-03T09:00:00.000Z');
    const throttle = new LoginThrottle(database.handle, config, () => now);
    for (let n = 1; n <= 6; n += 1) expect(await throttle.admit(throttleKeys('demo', `user${n}`, '198.51.100.7'))).toEqual({ admitted: true });
    expect(await throttle.admit(throttleKeys('demo', 'user7', '198.51.100.7'))).toEqual({ admitted: false, retryAfterSeconds: 1, lockedKey: 'address' });
    expect(await throttle.admit(throttleKeys('demo', 'user7', '198.51.100.8'))).toEqual({ admitted: true });
    // Failures older than the window are forgotten.
    now = new Date(now.getTime() + 901_000);
    for (let n = 1; n <= 5; n += 1) expect(await throttle.admit(throttleKeys('demo', `later${n}`, '198.51.100.7'))).toEqual({ admitted: true });
  });

  it('takes back an attempt that was never judged', async () => {
    const now = new Date('2026-03-04T09:00:00.000Z');
    const throttle = new LoginThrottle(database.handle, config, () => now);
    const keys = throttleKeys('demo', 'busy', '203.0.113.5');
    for (let n = 1; n <= 4; n += 1) {
      expect(await throttle.admit(keys)).toEqual({ admitted: true });
      await throttle.withdrawn(keys);
    }
    const row = await database.handle.db.selectFrom('login_throttle').selectAll().where('key', '=', keys.account).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ failures: 0, locked_until: null });
  });
});

describe.each(DIALECTS)('login route throttling on %s', (dialect) => {
  let backend: TestBackend;
  const extraApps: FastifyInstance[] = [];
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
  });
  afterAll(async () => {
    for (const app of extraApps) await app.close();
    await backend?.dispose();
  });

  const appWith = async (login: Partial<LoginThrottleConfig>, passwords?: PasswordChecker) => {
    const app = buildApp({ db: backend.handle, config: { ...backend.config, login: { ...backend.config.login, ...login } }, ...(passwords ? { passwords } : {}) });
    extraApps.push(app);
    await app.ready();
    return app;
  };
  const attempt = (app: FastifyInstance, body: unknown, remoteAddress = '127.0.0.1') =>
    app.inject({ method: 'POST', url: API.login, payload: typeof body === 'string' ? body : (body as object), headers: { 'content-type': 'application/json' }, remoteAddress });
  const errorOf = (response: LightMyRequestResponse) => ApiErrorBody.parse(response.json()).error;
  const auditOf = async (login: string) =>
    (await backend.handle.db.selectFrom('audit_events').select(['details']).where('action', '=', 'login_failed').execute())
      .map((row) => JSON.parse(row.details) as { login?: string; reason?: string })
      .filter((details) => details.login === login);

  it('answers a parallel flood of wrong passwords with 429 and Retry-After, locks out the right one too, and audits every failure', async () => {
    await createUser(backend.handle, backend.demo.tenant.id, { login: 'flooded', password: backend.demo.password }, backend.config.argon2);
    // The 4th failure locks for the whole lock time, so the checks below do not race the clock.
    const strict = { account: { ...backend.config.login.account, freeFailures: 3, lockAfterFailures: 4 } };
    const app = await appWith(strict);
    const flood = await Promise.all(
      Array.from({ length: 30 }, () => attempt(app, { tenant: 'demo', login: 'flooded', password: 'wrong guess' }, '192.0.2.50')),
    );
    const statuses = flood.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(4);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(26);
    expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);
    for (const refused of flood.filter((response) => response.statusCode === 429)) {
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(errorOf(refused)).toMatchObject({ code: 'rate_limited', retryAfterSeconds: Number(refused.headers['retry-after']) });
    }

    const right = await attempt(app, { tenant: 'demo', login: 'flooded', password: backend.demo.password }, '192.0.2.51');
    expect(right.statusCode).toBe(429);
    expect(errorOf(right).message).toMatch(/try again in \d+ s/);
    // Another backend instance on the same database sees the same lock.
    const elsewhere = await attempt(await appWith(strict), { tenant: 'demo', login: 'flooded', password: backend.demo.password }, '192.0.2.52');
    expect(elsewhere.statusCode).toBe(429);

    const audited = await auditOf('flooded');
    expect(audited).toHaveLength(32);
    expect(new Set(audited.map((details) => details.reason))).toEqual(new Set(['wrong_password', 'throttled']));
    // Other accounts keep working, from the same address too.
    expect((await attempt(app, { tenant: 'demo', login: 'agent', password: backend.demo.password }, '192.0.2.50')).statusCode).toBe(200);
  });

  it('throttles one address trying many accounts, not another address', async () => {
    const app = await appWith({ address: { ...backend.config.login.address, freeFailures: 2, lockAfterFailures: 5 } });
    const statuses: number[] = [];
    for (let n = 0; n < 4; n += 1) statuses.push((await attempt(app, { tenant: 'demo', login: `sprayed${n}`, password: 'x' }, '198.51.100.20')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await attempt(app, { tenant: 'demo', login: 'supervisor', password: backend.demo.password }, '198.51.100.20')).statusCode).toBe(429);
    expect((await attempt(app, { tenant: 'demo', login: 'supervisor', password: backend.demo.password }, '198.51.100.21')).statusCode).toBe(200);
  });

  it('limits login requests per address coarsely, before the body is parsed', async () => {
    const app = await appWith({ requestsPerMinute: 2 });
    expect((await attempt(app, '{"not json', '198.51.100.30')).statusCode).toBe(400);
    expect((await attempt(app, '{"not json', '198.51.100.30')).statusCode).toBe(400);
    const limited = await attempt(app, '{"not json', '198.51.100.30');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(errorOf(limited).code).toBe('rate_limited');
    expect((await attempt(app, { tenant: 'demo', login: 'agent', password: backend.demo.password }, '198.51.100.31')).statusCode).toBe(200);
  });

  it('answers "busy" with 429 when the line of password checks is full, without counting it against the account', async () => {
    const gate = deferred();
    let checking = 0;
    const waiting = deferred();
    const passwords = new PasswordChecker(backend.config.argon2, { maxConcurrentChecks: 1, maxQueuedChecks: 0 }, async (hash, password) => {
      checking += 1;
      waiting.resolve();
      await gate.promise;
      return verifyPassword(hash, password);
    });
    const app = await appWith({}, passwords);
    const first = attempt(app, { tenant: 'demo', login: 'admin', password: backend.demo.password }, '203.0.113.40');
    await waiting.promise;
    const busy = await attempt(app, { tenant: 'demo', login: 'supervisor', password: backend.demo.password }, '203.0.113.41');
    expect(busy.statusCode).toBe(429);
    expect(busy.headers['retry-after']).toBe('1');
    expect(errorOf(busy).message).toMatch(/many sign-ins/);
    gate.resolve();
    expect((await first).statusCode).toBe(200);
    expect(checking).toBe(1);
    const supervisorRow = await backend.handle.db
      .selectFrom('login_throttle')
      .selectAll()
      .where('key', '=', throttleKeys('demo', 'supervisor', '203.0.113.41').account)
      .executeTakeFirst();
    expect(supervisorRow?.failures ?? 0).toBe(0);
  });
});
