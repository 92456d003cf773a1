import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../../../shared/api.js';
import { createCustomerRecord, DEMO_PASSWORD } from '../../../backend/src/testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../../../backend/src/testing/harness.js';
import { listenOn, startTestCore, type TestCore } from '../testing/core-harness.js';
import { cacheHoldings as cacheHoldingsOf, serverHoldings as serverHoldingsOf } from '../testing/holdings.js';
import { FileCacheKeyStore } from './cache-keys.js';
import { openCache } from './open-cache.js';
import { CACHE_FILE } from './user-cache.js';

/**
 * Issue 13's drills on real files: a cache with 4 KB of random bytes written into it, and a
 * user whose rights shrink between two syncs (while the app was closed, and while it runs).
 * Each asserts what the cache holds against the server (row counts and a checksum of the
 * customers), never timings. The read-only folder and the full disk are in
 * cache-folder-drills.test.ts (they need a mount namespace).
 */

let backend: TestBackend;
const cores: TestCore[] = [];
const apps: FastifyInstance[] = [];
const supervisorLogin = { tenant: 'demo', login: 'supervisor', password: DEMO_PASSWORD };

beforeAll(async () => {
  backend = await startTestBackend('sqlite');
  for (let i = 1; i <= 8; i++) {
    await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: `D-${String(i).padStart(3, '0')}`,
      name: `訓練 顧客${i}`,
      nameKana: `クンレン コキャク${i}`,
      phones: [{ e164: `+8146${String(1000000 + i)}`, kind: 'landline' }],
      incidents: [{ title: `訓練案件${i}`, contacts: [{ summary: `訓練連絡${i}` }] }],
    });
  }
  // Confidential ones, so that a raised customer limit has something to take away.
  await backend.handle.db.updateTable('customers').set({ classification: 2 }).where('code', 'in', ['D-001', 'D-002', 'D-003']).execute();
});

afterEach(async () => {
  const used = cores.splice(0);
  for (const core of used) await core.dispose();
  for (const core of used) fs.rmSync(core.dataDir, { recursive: true, force: true });
  for (const app of apps.splice(0)) await app.close();
});

afterAll(async () => {
  await backend?.dispose();
});

async function serve(port = 0): Promise<{ app: FastifyInstance; url: string; port: number }> {
  const app = backend.secondInstance();
  apps.push(app);
  const listening = await listenOn(app, port);
  return { app, url: `http://127.0.0.1:${listening}`, port: listening };
}

function coreFor(url: string, options: Partial<Parameters<typeof startTestCore>[0]> = {}): TestCore {
  const core = startTestCore({ backendUrl: url, ...options });
  cores.push(core);
  return core;
}

async function loginAndSync(core: TestCore) {
  const session = await core.value('session:login', supervisorLogin);
  await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');
  return session;
}

function userDirOf(core: TestCore): string {
  return path.join(core.dataDir, backend.demo.tenant.id, backend.demo.users.supervisor.id);
}

/** What the core's cache file holds (opened read only after the core has closed it). */
const cacheHoldings = (core: TestCore) => cacheHoldingsOf(userDirOf(core));
/** What the server holds that the supervisor, with their current rights, may read. */
const serverHoldings = () => serverHoldingsOf(backend.handle.db, backend.demo.tenant.id, backend.demo.users.supervisor.id);

/** Writes 4 KB of random bytes into the closed cache file at `offset`. */
function garble(file: string, offset: number): void {
  const handle = fs.openSync(file, 'r+');
  try {
    fs.writeSync(handle, randomBytes(4096), 0, 4096, offset);
  } finally {
    fs.closeSync(handle);
  }
}

async function serverContactsWithBody(body: string): Promise<number> {
  return (await backend.handle.db.selectFrom('contacts').select('id').where('body', '=', body).execute()).length;
}

describe('a damaged cache', () => {
  it('with 4 KB of random bytes over its customers is set aside and rebuilt from the server, and its unsent note is kept and sent once', async () => {
    const first = await serve();
    const core = coreFor(first.url);
    await loginAndSync(core);
    const detail = await core.value('customers:lookupCaller', { phone: '0312345678' });
    // Unsent: the backend is gone when the note is written.
    await first.app.close();
    const body = `note before the damage ${Date.now()}`;
    await core.value('notes:add', { incidentId: detail!.incidents[0]!.id, body });
    await core.waitForStatus((s) => s.pendingOutbox === 1 && !s.online, 'offline with the note pending');
    await core.dispose();

    const userDir = userDirOf(core);
    const cacheFile = path.join(userDir, CACHE_FILE);
    // The customers table's root page is page 2 (the first table the schema creates).
    garble(cacheFile, 4096);

    const second = await serve(first.port);
    const restarted = coreFor(second.url, { dataDir: core.dataDir, tokenStore: core.tokenStore });
    expect(await restarted.value('session:current', undefined)).toMatchObject({ user: { login: 'supervisor' } });
    await restarted.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'idle with the note sent');
    // The operator was told, with nothing lost; once rebuilt, the sentence is gone.
    expect(restarted.statuses.some((s) => s.cacheProblem === 'rebuilt_corrupt' && s.lostOutbox === 0)).toBe(true);
    expect(restarted.statuses.at(-1)?.cacheProblem).toBeNull();
    expect(await serverContactsWithBody(body)).toBe(1);
    // Kept for support, not deleted.
    expect(fs.readdirSync(userDir).filter((name) => /^cache\.db\.damaged-[^.]+$/.test(name) && !/-(wal|shm)$/.test(name))).toHaveLength(1);
    expect(restarted.logger.entries.some((entry) => entry.message.includes('rebuilt'))).toBe(true);
    await restarted.dispose();
    expect(await cacheHoldings(restarted)).toEqual(await serverHoldings());
  });

  it('whose first page is random bytes (unreadable) is set aside, the operator is told unsent entries are lost, and the cache is rebuilt exactly', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    await core.dispose();
    const userDir = userDirOf(core);
    garble(path.join(userDir, CACHE_FILE), 0);

    const restarted = coreFor(url, { dataDir: core.dataDir, tokenStore: core.tokenStore });
    await restarted.value('session:current', undefined);
    const idle = await restarted.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the rebuild');
    // Unsent entries may have been lost: that stays in the status until the session ends.
    expect(idle.cacheProblem).toBe('rebuilt_unreadable');
    expect(fs.readdirSync(userDir).filter((name) => name.startsWith('cache.db.damaged-'))).not.toEqual([]);
    await restarted.dispose();
    expect(await cacheHoldings(restarted)).toEqual(await serverHoldings());
  });
});

describe('a cache damaged while the core runs', () => {
  /**
   * Writes 4 KB of random bytes over the customers table's root page of the cache the core has
   * open. Another connection (as a second process would) first moves every page into cache.db
   * and restarts the WAL. Important: SQLite re-reads pages only once another connection changed
   * the file; the restart is such a change, so the core's next read goes to the disk, as a
   * read of a page it never held does on a big cache.
   */
  async function garbleOpenCache(core: TestCore): Promise<void> {
    const userDir = userDirOf(core);
    const cacheFile = path.join(userDir, CACHE_FILE);
    const key = await new FileCacheKeyStore().load(userDir);
    const other = openCache(cacheFile, { key: key ?? undefined });
    try {
      other.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      other.close();
    }
    garble(cacheFile, 4096);
  }

  function setAsideFiles(core: TestCore): string[] {
    return fs.readdirSync(userDirOf(core)).filter((name) => /^cache\.db\.damaged-[^.]+$/.test(name) && !/-(wal|shm)$/.test(name));
  }

  it('online: the screen pop that meets the damage is answered by the backend, the cache is rebuilt, and later changes still arrive', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    const detail = await core.value('customers:lookupCaller', { phone: '0312345678' });
    expect(detail?.source).toBe('cache');
    const statusesBefore = core.statuses.length;
    await garbleOpenCache(core);

    // The cache read meets the damage; the backend answers instead of a generic error.
    const popped = await core.value('customers:lookupCaller', { phone: '0312345678' });
    expect(popped).toMatchObject({ source: 'online', customer: { id: detail!.customer.id } });
    expect(core.logger.entries.some((entry) => entry.message.includes('damaged'))).toBe(true);
    const idle = await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.cacheProblem === null && s.cachedCustomers > 0, 'idle after the rebuild');
    expect(core.statuses.slice(statusesBefore).some((s) => s.cacheProblem === 'rebuilt_corrupt' && s.lostOutbox === 0)).toBe(true);
    expect(idle.lastError).toBeNull();
    expect(setAsideFiles(core)).toHaveLength(1);

    // Sync still works on the rebuilt cache: a later change on the server arrives.
    const renamed = `訓練 改名 ${Date.now()}`;
    const adminToken = await backend.login('admin');
    const changed = await backend.send('PATCH', API.customer.replace(':id', detail!.customer.id), { name: renamed }, adminToken);
    expect(changed.statusCode, changed.body).toBe(200);
    await core.value('sync:now', undefined);
    await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the change');
    expect(await core.value('customers:lookupCaller', { phone: '0312345678' })).toMatchObject({ source: 'cache', customer: { name: renamed } });
    await core.dispose();
    expect(await cacheHoldings(core)).toEqual(await serverHoldings());
  });

  it('offline: reads answer without a generic error, the unsent note is kept through the rebuild and sent once when the backend is back', async () => {
    const first = await serve();
    const core = coreFor(first.url);
    await loginAndSync(core);
    const detail = await core.value('customers:lookupCaller', { phone: '0312345678' });
    await first.app.close();
    const body = `note before the damage while running ${Date.now()}`;
    await core.value('notes:add', { incidentId: detail!.incidents[0]!.id, body });
    await core.waitForStatus((s) => s.pendingOutbox === 1 && !s.online, 'offline with the note pending');
    const statusesBefore = core.statuses.length;
    await garbleOpenCache(core);

    // Nothing to fall back to: no customer, but no error either; the rebuild starts.
    const popped = await core.call('customers:lookupCaller', { phone: '0312345678' });
    expect(popped.ok).toBe(true);
    await core.waitForStatus((s) => s.cacheProblem === 'rebuilt_corrupt' && s.lostOutbox === 0 && s.pendingOutbox === 1, 'told of the rebuild, the note kept');

    await serve(first.port);
    await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0 && s.cacheProblem === null, 'idle with the note sent');
    expect(core.statuses.slice(statusesBefore).every((s) => s.pendingOutbox <= 1)).toBe(true);
    expect(await serverContactsWithBody(body)).toBe(1);
    expect(setAsideFiles(core)).toHaveLength(1);
    await core.dispose();
    expect(await cacheHoldings(core)).toEqual(await serverHoldings());
  });
});

async function setRights(patch: { customerLimitAuthority?: number; branch?: string | null }): Promise<void> {
  const adminToken = await backend.login('admin');
  const changed = await backend.send('PATCH', API.userRights.replace(':id', backend.demo.users.supervisor.id), patch, adminToken);
  expect(changed.statusCode, changed.body).toBe(200);
}

describe('rights that shrink', () => {

  it('while the app was closed: nothing the new rights forbid is readable after the restart, and the cache ends with exactly what they allow', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    const before = await serverHoldings();
    await core.dispose();

    await setRights({ customerLimitAuthority: 3 });
    try {
      const after = await serverHoldings();
      expect(after.customers).toBeLessThan(before.customers);
      const restarted = coreFor(url, { dataDir: core.dataDir, tokenStore: core.tokenStore });
      await restarted.value('session:current', undefined);
      // At once, before any purge: the cache still holds them, the reads do not return them.
      for (const code of ['D-001', 'D-002', 'D-003']) {
        const found = await restarted.value('customers:search', { query: code });
        expect(found.customers.map((c) => c.code)).not.toContain(code);
      }
      const popped = await restarted.value('customers:lookupCaller', { phone: '+81461000001' });
      expect(popped).toBeNull();
      await restarted.waitForStatus((s) => s.phase === 'idle' && s.online && s.cachedCustomers === after.customers, 'idle after the purge');
      await restarted.dispose();
      expect(await cacheHoldings(restarted)).toEqual(after);
    } finally {
      await setRights({ customerLimitAuthority: 1 });
    }
  });

  it('while the app runs: the rights poke alone makes it purge (no poll, no sync request), and the cache ends with exactly what they allow', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    await setRights({ customerLimitAuthority: 3 });
    try {
      const after = await serverHoldings();
      // The poll interval is an hour in tests: only the rights poke can bring this.
      await core.waitForStatus((s) => s.phase === 'idle' && s.cachedCustomers === after.customers, 'the purge after the rights poke');
      expect((await core.value('customers:search', { query: 'D-002' })).customers).toEqual([]);
      await core.dispose();
      expect(await cacheHoldings(core)).toEqual(after);
    } finally {
      await setRights({ customerLimitAuthority: 1 });
    }
  });
});

describe('rights that grow', () => {
  it('fetch only the customers that became visible, not the whole snapshot, and the cache ends with exactly what they allow', async () => {
    await setRights({ customerLimitAuthority: 3 });
    try {
      const { url } = await serve();
      const core = coreFor(url);
      await loginAndSync(core);
      const before = await serverHoldings();
      await setRights({ customerLimitAuthority: 1 });
      const after = await serverHoldings();
      const became = after.customers - before.customers;
      expect(became).toBeGreaterThan(0);
      const statusesBefore = core.statuses.length;
      // The rights poke alone brings it (the poll interval is an hour in tests).
      await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.cachedCustomers === after.customers, 'idle with the grown rights');
      // The snapshot taken again counted only what became visible.
      const totals = core.statuses.slice(statusesBefore).flatMap((s) => (s.progress ? [s.progress.total] : []));
      expect(totals.length).toBeGreaterThan(0);
      expect(Math.max(...totals)).toBe(became);
      expect(core.logger.entries.some((entry) => entry.message === 'rights grew: fetching the customers that became visible')).toBe(true);
      expect((await core.value('customers:search', { query: 'D-002' })).customers.map((c) => c.code)).toEqual(['D-002']);
      await core.dispose();
      expect(await cacheHoldings(core)).toEqual(after);
    } finally {
      await setRights({ customerLimitAuthority: 1 });
    }
  });
});
