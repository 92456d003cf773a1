import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../../../shared/api.js';
import { DEMO_PASSWORD } from '../../../backend/src/testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../../../backend/src/testing/harness.js';
import { createMemoryLogger } from '../logger.js';
import { makeContact, makeCustomer } from '../testing/records.js';
import { listenOn, startTestCore, type TestCore } from '../testing/core-harness.js';
import { createCore } from '../core.js';
import { MemoryTokenStore } from '../token-store.js';
import { CACHE_KEY_FILE, FileCacheKeyStore, MemoryCacheKeyStore } from './cache-keys.js';
import { CacheStore } from './cache-store.js';
import { databaseFileState, openDatabaseFile } from './encrypted-database.js';
import { openCache } from './open-cache.js';
import { CACHE_FILE } from './user-cache.js';

/**
 * The life of a user's encrypted cache through the core's IPC handlers, against the real
 * backend (Fastify on a loopback port, SQLite database, demo tenant): login creates it private
 * and encrypted, an older plain cache is encrypted with its outbox, sign-out, expiry and a
 * disabled account wipe it, keeping only what the backend has not taken yet.
 */

let backend: TestBackend;
const cores: TestCore[] = [];
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  backend = await startTestBackend('sqlite');
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

const login = (name: 'supervisor' | 'osaka') => ({ tenant: 'demo', login: name, password: DEMO_PASSWORD });

async function loginAndSync(core: TestCore, credentials = login('supervisor')) {
  const session = await core.value('session:login', credentials);
  await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');
  return session;
}

function userDirOf(core: TestCore, userId: string): string {
  return path.join(core.dataDir, backend.demo.tenant.id, userId);
}

async function serverContactsWithBody(body: string): Promise<{ id: string }[]> {
  return backend.handle.db.selectFrom('contacts').select('id').where('body', '=', body).execute();
}

function bytesOf(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe('the user cache at login', () => {
  it('is created encrypted, readable by the user only, in private folders, with its key in a 0600 file', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    const userDir = userDirOf(core, backend.demo.users.supervisor.id);
    const cacheFile = path.join(userDir, CACHE_FILE);

    expect(databaseFileState(cacheFile)).toBe('encrypted');
    for (const name of ['山田 太郎', '+81312345678', 'Acme Holdings']) {
      expect(bytesOf(cacheFile).includes(Buffer.from(name, 'utf8')), name).toBe(false);
    }
    for (const dir of [core.dataDir, path.dirname(userDir), userDir]) expect(mode(dir), dir).toBe(0o700);
    for (const file of fs.readdirSync(userDir)) expect(mode(path.join(userDir, file)), file).toBe(0o600);
    expect(fs.readdirSync(userDir)).toEqual(expect.arrayContaining([CACHE_FILE, `${CACHE_FILE}-wal`, CACHE_KEY_FILE]));
  });

  it('encrypts a plain cache from an older version, and its pending notes reach the backend once', async () => {
    const { url } = await serve();
    // The incident the notes belong to, as the backend knows it.
    const probe = coreFor(url);
    await loginAndSync(probe);
    const yamada = await probe.value('customers:lookupCaller', { phone: '0312345678' });
    const incident = yamada!.incidents[0]!;
    await probe.value('session:logout', undefined);

    // What the previous version left: a plain cache, world-readable, with two unsent notes.
    const core = coreFor(url);
    const userDir = userDirOf(core, backend.demo.users.supervisor.id);
    fs.mkdirSync(userDir, { recursive: true, mode: 0o755 });
    const cacheFile = path.join(userDir, CACHE_FILE);
    const bodies = [`plain-era note A ${Date.now()}`, `plain-era note B ${Date.now()}`];
    const plain = openCache(cacheFile);
    const store = new CacheStore(plain, { logger: createMemoryLogger() });
    store.upsertRecords([{ customer: makeCustomer({ id: incident.customerId, name: '山田 太郎' }), incidents: [incident], contacts: [] }]);
    for (const [index, body] of bodies.entries()) {
      const clientId = `00000000-0000-4000-8000-00000000000${index}`;
      const entry: Extract<OutboxEntry, { type: 'add_note' }> = { type: 'add_note', clientId, incidentId: incident.id, body, createdAt: new Date().toISOString() };
      store.addPendingNote(entry, makeContact(incident, { id: clientId, kind: 'note', direction: 'internal', summary: body, body }));
    }
    plain.close();
    fs.chmodSync(cacheFile, 0o644);
    expect(bytesOf(cacheFile).includes(Buffer.from(bodies[0]!))).toBe(true);

    await core.value('session:login', login('supervisor'));
    await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'idle with the notes pushed');
    for (const body of bodies) expect(await serverContactsWithBody(body)).toHaveLength(1);
    // Another pass pushes nothing twice.
    await core.value('sync:now', undefined);
    for (const body of bodies) expect(await serverContactsWithBody(body)).toHaveLength(1);

    expect(databaseFileState(cacheFile)).toBe('encrypted');
    expect(bytesOf(cacheFile).includes(Buffer.from(bodies[0]!))).toBe(false);
    expect(mode(cacheFile)).toBe(0o600);
    expect(mode(userDir)).toBe(0o700);
    const detail = await core.value('customers:get', { customerId: incident.customerId });
    expect(detail.contacts.filter((c) => bodies.includes(c.body)).map((c) => c.pending)).toEqual([false, false]);
  });
});

describe('the user cache at sign-out', () => {
  it('is wiped with its key when everything was sent', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    const userDir = userDirOf(core, backend.demo.users.supervisor.id);
    expect(fs.existsSync(path.join(userDir, CACHE_FILE))).toBe(true);

    await core.value('session:logout', undefined);
    expect(fs.existsSync(userDir)).toBe(false);
    expect(await new FileCacheKeyStore().load(userDir)).toBeNull();
  });

  it('pushes a pending note before wiping', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    const yamada = await core.value('customers:lookupCaller', { phone: '0312345678' });
    const body = `note written just before sign-out ${Date.now()}`;
    await core.value('notes:add', { incidentId: yamada!.incidents[0]!.id, body });
    await core.value('session:logout', undefined);
    expect(await serverContactsWithBody(body)).toHaveLength(1);
    expect(fs.existsSync(userDirOf(core, backend.demo.users.supervisor.id))).toBe(false);
  });

  it('offline, keeps only the unsent note (no customer data) until the same user logs in again, then sends it once', async () => {
    const first = await serve();
    const core = coreFor(first.url);
    await loginAndSync(core);
    const yamada = await core.value('customers:lookupCaller', { phone: '0312345678' });
    const userDir = userDirOf(core, backend.demo.users.supervisor.id);
    const cacheFile = path.join(userDir, CACHE_FILE);

    await first.app.close();
    const body = `offline note kept over sign-out ${Date.now()}`;
    await core.value('notes:add', { incidentId: yamada!.incidents[0]!.id, body });
    await core.waitForStatus((s) => s.phase === 'offline' && s.pendingOutbox === 1, 'offline with one pending note');
    await core.value('session:logout', undefined);

    const key = await new FileCacheKeyStore().load(userDir);
    expect(key).not.toBeNull();
    expect(databaseFileState(cacheFile)).toBe('encrypted');
    const kept = openDatabaseFile(cacheFile, { key: key!, label: 'the test' });
    const counts = (table: string) => kept.prepare(`SELECT count(*) FROM ${table}`).pluck().get();
    expect({ customers: counts('customers'), incidents: counts('incidents'), contacts: counts('contacts'), phones: counts('customer_phones') }).toEqual({
      customers: 0,
      incidents: 0,
      contacts: 0,
      phones: 0,
    });
    // Besides the note, the outbox may hold the audit of customers shown from the cache (customer_viewed): no customer data.
    const keptEntries = kept.prepare('SELECT entry_json FROM outbox').pluck().all().map((json) => JSON.parse(json as string) as { type: string; body?: string });
    expect(keptEntries.filter((entry) => entry.type !== 'customer_viewed').map((entry) => entry.body)).toEqual([body]);
    kept.close();

    await serve(first.port);
    await core.value('session:login', login('supervisor'));
    await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'idle with the kept note pushed');
    expect(await serverContactsWithBody(body)).toHaveLength(1);
    await core.value('session:logout', undefined);
    expect(fs.existsSync(userDir)).toBe(false);
    expect(await serverContactsWithBody(body)).toHaveLength(1);
  });
});

describe('the user cache when the backend ends the session', () => {
  it('is wiped when the account is disabled while the app runs', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core, login('osaka'));
    const userDir = userDirOf(core, backend.demo.users.osakaAgent.id);
    expect(fs.existsSync(path.join(userDir, CACHE_FILE))).toBe(true);

    await backend.handle.db.updateTable('users').set({ disabled: 1 }).where('id', '=', backend.demo.users.osakaAgent.id).execute();
    try {
      const expired = new Promise<void>((resolve) =>
        core.core.onEvent((...[event]) => {
          if (event === 'session:expired') resolve();
        }),
      );
      await core.call('sync:now', undefined);
      await expired;
      expect(fs.existsSync(userDir)).toBe(false);
    } finally {
      await backend.handle.db.updateTable('users').set({ disabled: 0 }).where('id', '=', backend.demo.users.osakaAgent.id).execute();
    }
  });

  it('is wiped at the next start when the stored session is no longer valid', async () => {
    const { url } = await serve();
    const first = coreFor(url);
    await loginAndSync(first);
    const userDir = userDirOf(first, backend.demo.users.supervisor.id);
    const token = await first.tokenStore.get();
    await first.dispose();
    expect(fs.existsSync(path.join(userDir, CACHE_FILE))).toBe(true);

    await backend.handle.db.deleteFrom('sessions').execute();
    const second = coreFor(url, { dataDir: first.dataDir, tokenStore: first.tokenStore });
    expect(await second.tokenStore.get()).toBe(token);
    expect(await second.value('session:current', undefined)).toBeNull();
    expect(fs.existsSync(userDir)).toBe(false);
  });
});

describe('the core', () => {
  it('refuses a backend URL that is neither https nor on loopback', () => {
    const options = { dataDir: path.join(os.tmpdir(), 'tsunagu-never-created'), tokenStore: new MemoryTokenStore(), cacheKeys: new MemoryCacheKeyStore(), logger: createMemoryLogger() };
    expect(() => createCore({ ...options, backendUrl: 'http://cti.example.co.jp:8740' })).toThrow(
      'backend URL http://cti.example.co.jp:8740 must use https; plain http is allowed only on loopback (127.0.0.1, ::1, localhost)',
    );
  });
});
