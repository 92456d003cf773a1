import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../../../shared/api.js';
import { createCustomerRecord, DEMO_PASSWORD } from '../../../backend/src/testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../../../backend/src/testing/harness.js';
import { FileCacheKeyStore } from '../cache/cache-keys.js';
import { openDatabaseFile } from '../cache/encrypted-database.js';
import { listenOn, startTestCore, type TestCore } from '../testing/core-harness.js';
import { META } from './snapshot.js';

/**
 * The sync engine through the core's IPC handlers, against the real backend (Fastify on a
 * loopback port, SQLite database, demo tenant). Every wait is on an event the core emits.
 */

const EXTRA_CUSTOMERS = 12;
/** Demo tenant (3 customers) plus the extra ones; the supervisor sees all of them. */
const TOTAL = 3 + EXTRA_CUSTOMERS;

let backend: TestBackend;
const cores: TestCore[] = [];
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  backend = await startTestBackend('sqlite');
  for (let i = 1; i <= EXTRA_CUSTOMERS; i++) {
    await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: `X-${String(i).padStart(3, '0')}`,
      name: `追加 顧客${i}`,
      nameKana: `ツイカ コキャク${i}`,
      phones: [{ e164: `+8145${String(1000000 + i)}`, kind: 'landline' }],
      incidents: [{ title: `案件${i}`, contacts: [{ summary: `連絡${i}` }] }],
    });
  }
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

/** A backend instance on the shared database, listening; hooks can be added by `prepare`. */
async function serve(prepare?: (app: FastifyInstance) => void, port = 0): Promise<{ app: FastifyInstance; url: string; port: number }> {
  const app = backend.secondInstance();
  prepare?.(app);
  apps.push(app);
  const listening = await listenOn(app, port);
  return { app, url: `http://127.0.0.1:${listening}`, port: listening };
}

function coreFor(url: string, options: Partial<Parameters<typeof startTestCore>[0]> = {}): TestCore {
  const core = startTestCore({ backendUrl: url, ...options });
  cores.push(core);
  return core;
}

const supervisorLogin = { tenant: 'demo', login: 'supervisor', password: DEMO_PASSWORD };

async function loginAndSync(core: TestCore, credentials = supervisorLogin) {
  const session = await core.value('session:login', credentials);
  await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');
  return session;
}

async function serverContactsWithBody(body: string): Promise<{ id: string }[]> {
  return backend.handle.db.selectFrom('contacts').select('id').where('body', '=', body).execute();
}

describe('first sync', () => {
  it('fills the cache from paged snapshots with progress events, then serves search and screen pop', async () => {
    const { url } = await serve();
    const core = coreFor(url, { syncTuning: { snapshotPageSize: 4 } });
    const session = await core.value('session:login', supervisorLogin);
    expect(session.user.login).toBe('supervisor');
    const idle = await core.waitForStatus((s) => s.phase === 'idle', 'idle after the first sync');
    expect(idle).toMatchObject({ online: true, cachedCustomers: TOTAL, pendingOutbox: 0, progress: null, lastError: null });

    const progress = core.statuses.filter((s) => s.phase === 'snapshot' && s.progress).map((s) => s.progress);
    expect(progress.map((p) => p?.done).filter((done) => done !== 0)).toEqual([4, 8, 12, TOTAL]);
    expect(progress.at(-1)).toEqual({ done: TOTAL, total: TOTAL });

    const search = await core.value('customers:search', { query: 'やまだ' });
    expect(search.source).toBe('cache');
    expect(search.customers.map((c) => c.name)).toEqual(['山田 太郎']);
    for (const written of ['03-1234-5678', '0312345678', '+81 3 1234 5678']) {
      const popped = await core.value('customers:lookupCaller', { phone: written });
      expect(popped?.customer.name).toBe('山田 太郎');
      expect(popped?.source).toBe('cache');
      expect(popped?.incidents.map((i) => i.title)).toEqual(['請求書の再発行']);
      expect(popped?.contacts).toHaveLength(2);
    }

    // The cache file is per tenant and user.
    const cacheFile = path.join(core.dataDir, backend.demo.tenant.id, backend.demo.users.supervisor.id, 'cache.db');
    expect(fs.existsSync(cacheFile)).toBe(true);
  });

  it('resumes an interrupted snapshot where it stopped, after a restart', async () => {
    const snapshotRequests: URL[] = [];
    let blocked!: () => void;
    const thirdPageBlocked = new Promise<void>((resolve) => (blocked = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { url } = await serve((app) => {
      app.addHook('onRequest', async (request) => {
        if (!request.url.startsWith(API.syncSnapshot)) return;
        snapshotRequests.push(new URL(request.url, 'http://backend'));
        if (snapshotRequests.length === 3) {
          blocked();
          await released;
        }
      });
    });

    const first = coreFor(url, { syncTuning: { snapshotPageSize: 4 } });
    await first.value('session:login', supervisorLogin);
    await thirdPageBlocked;
    // Two pages are written; the worker is waiting for the third when the app quits.
    await first.dispose();
    release();

    const cacheFile = path.join(first.dataDir, backend.demo.tenant.id, backend.demo.users.supervisor.id, 'cache.db');
    const key = await new FileCacheKeyStore().load(path.dirname(cacheFile));
    const raw = openDatabaseFile(cacheFile, { key: key!, label: 'the test' });
    const meta = new Map((raw.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    const cachedBefore = raw.prepare('SELECT count(*) FROM customers').pluck().get();
    raw.close();
    expect(meta.get(META.snapshotState)).toBeUndefined();
    expect(meta.get(META.snapshotReceived)).toBe('8');
    expect(cachedBefore).toBe(8);
    const savedAfter = meta.get(META.snapshotAfter);
    const savedHighWater = meta.get(META.snapshotHighWaterSeq);
    expect(savedAfter).toBeTruthy();

    // The app starts again with the stored token: the session comes back and the snapshot resumes.
    const second = coreFor(url, { dataDir: first.dataDir, tokenStore: first.tokenStore, syncTuning: { snapshotPageSize: 4 } });
    const requestsBefore = snapshotRequests.length;
    const restored = await second.value('session:current', undefined);
    expect(restored?.user.id).toBe(backend.demo.users.supervisor.id);
    const idle = await second.waitForStatus((s) => s.phase === 'idle', 'idle after the resumed snapshot');
    expect(idle.cachedCustomers).toBe(TOTAL);

    const resumedWith = snapshotRequests[requestsBefore];
    expect(resumedWith?.searchParams.get('after')).toBe(savedAfter);
    expect(resumedWith?.searchParams.get('highWaterSeq')).toBe(savedHighWater);
    // Pages 3 and 4 only: nothing fetched twice.
    expect(snapshotRequests.length - requestsBefore).toBe(2);
    const firstProgress = second.statuses.find((s) => s.progress && s.progress.done > 8)?.progress;
    expect(firstProgress?.done).toBe(12);
  });
});

describe('deltas', () => {
  it('brings a write on the server into the cache on the SSE poke', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    const before = (await core.value('sync:status', undefined)).cachedCustomers;

    await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: 'P-001',
      name: '突然 現れ',
      nameKana: 'トツゼン アラワレ',
      phones: [{ e164: '+81298765432', kind: 'landline' }],
    });
    // The poll interval is an hour in tests: only the poke can bring it this soon.
    await core.waitForStatus((s) => s.cachedCustomers === before + 1 && s.phase === 'idle', 'with the new customer');
    const found = await core.value('customers:search', { query: 'とつぜん' });
    expect(found).toMatchObject({ source: 'cache', customers: [{ code: 'P-001' }] });
  });

  /** A backend instance that counts the pulls (`GET /api/sync/changes`) it serves. */
  async function serveCountingPulls() {
    const pulls = { count: 0 };
    const served = await serve((app) => {
      app.addHook('onRequest', async (request) => {
        if (request.url.startsWith(API.syncChanges)) pulls.count++;
      });
    });
    return { ...served, pulls };
  }

  /** A note on 山田's incident written by another operator, and the core's status once it is in the cache. */
  async function noteFromAnotherAgent(core: TestCore, body: string) {
    const before = (await core.value('sync:status', undefined)).lastSyncedAt;
    const { yamada } = backend.demo.customers;
    const pushed = await backend.send(
      'POST',
      API.syncPush,
      { entries: [{ type: 'add_note', clientId: randomUUID(), incidentId: yamada.incidentIds[0], body, createdAt: new Date().toISOString() }] },
      await backend.login('agent'),
    );
    expect(pushed.statusCode, pushed.body).toBe(200);
    // Every pass or delta applied moves lastSyncedAt: after each, look for the note in the cache.
    for (let synced = before; ; ) {
      synced = (await core.waitForStatus((s) => s.lastSyncedAt !== synced && s.phase === 'idle', `synced after "${body}"`)).lastSyncedAt;
      const detail = await core.value('customers:get', { customerId: yamada.id });
      expect(detail.source).toBe('cache');
      if (detail.contacts.some((contact) => contact.body === body)) return;
    }
  }

  it('applies a delta poke without pulling', async () => {
    const { url, pulls } = await serveCountingPulls();
    const core = coreFor(url);
    await loginAndSync(core);
    // The first note settles the stream (it may still race the login's passes); sync:now
    // returns once no pass runs or is wanted.
    await noteFromAnotherAgent(core, 'delta: settles the stream');
    await core.value('sync:now', undefined);
    const pulled = pulls.count;
    await noteFromAnotherAgent(core, 'delta: carried by the poke');
    await noteFromAnotherAgent(core, 'delta: carried by the next poke');
    expect(pulls.count).toBe(pulled);
  });

  it('pulls when a delta poke does not start at its cursor (a gap)', async () => {
    const { url, pulls } = await serveCountingPulls();
    const core = coreFor(url);
    await loginAndSync(core);
    await noteFromAnotherAgent(core, 'gap: settles the stream');
    await core.value('sync:now', undefined);
    // The cache's cursor moves one change back, as if it had missed the last delta: the next
    // delta starts after it, so the app must pull, and the pull brings both changes.
    const cacheFile = path.join(core.dataDir, backend.demo.tenant.id, backend.demo.users.supervisor.id, 'cache.db');
    const key = await new FileCacheKeyStore().load(path.dirname(cacheFile));
    const raw = openDatabaseFile(cacheFile, { key: key!, label: 'the test' });
    const cursor = Number(raw.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(META.cursor));
    raw.prepare('UPDATE meta SET value = ? WHERE key = ?').run(String(cursor - 1), META.cursor);
    raw.close();
    const pulled = pulls.count;
    await noteFromAnotherAgent(core, 'gap: after the missed change');
    expect(pulls.count).toBeGreaterThan(pulled);
    const raw2 = openDatabaseFile(cacheFile, { key: key!, label: 'the test' });
    expect(Number(raw2.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(META.cursor))).toBeGreaterThan(cursor);
    raw2.close();
  });

  it('purges what a user may no longer see when their rights shrink', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    const acme = await core.value('customers:search', { query: 'Acme' });
    expect(acme.customers).toHaveLength(1);

    const adminToken = await backend.login('admin');
    const changed = await backend.send(
      'PATCH',
      API.userRights.replace(':id', backend.demo.users.supervisor.id),
      { customerLimitAuthority: 3 },
      adminToken,
    );
    expect(changed.statusCode, changed.body).toBe(200);
    await core.value('sync:now', undefined);

    const afterSearch = await core.value('customers:search', { query: 'Acme' });
    // Not in the cache any more, and the online fallback does not show it either.
    expect(afterSearch.customers).toEqual([]);
    const detail = await core.call('customers:get', { customerId: backend.demo.customers.acme.id });
    expect(detail).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect((await core.value('customers:search', { query: 'やまだ' })).customers).toHaveLength(1);

    await backend.send('PATCH', API.userRights.replace(':id', backend.demo.users.supervisor.id), { customerLimitAuthority: 1 }, adminToken);
  });
});

describe('online fallback', () => {
  it('asks the backend when the cache has no match, and says so', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    // Written behind the change log's back, so the feed never brings it into the cache.
    const now = new Date().toISOString();
    const tenantId = backend.demo.tenant.id;
    const customerId = randomUUID();
    await backend.handle.db
      .insertInto('customers')
      .values({
        id: customerId, tenant_id: tenantId, code: 'O-001', name: '遠隔 太郎', name_kana: 'エンカク タロウ', postal_code: '',
        address: '', branch: null, assigned_rep_id: null, classification: 3, type: 'new', created_at: now, updated_at: now,
      })
      .execute();
    await backend.handle.db
      .insertInto('customer_phones')
      .values({ customer_id: customerId, tenant_id: tenantId, position: 0, e164: '+81471234567', kind: 'landline' })
      .execute();
    await backend.handle.db
      .insertInto('incidents')
      .values({ id: randomUUID(), tenant_id: tenantId, customer_id: customerId, title: '遠隔の案件', status: 'open', assignee_id: null, opened_at: now, closed_at: null, updated_at: now })
      .execute();

    const search = await core.value('customers:search', { query: 'エンカク' });
    expect(search).toMatchObject({ source: 'online', customers: [{ id: customerId, name: '遠隔 太郎' }] });
    const popped = await core.value('customers:lookupCaller', { phone: '04-7123-4567' });
    expect(popped).toMatchObject({ source: 'online', customer: { id: customerId }, incidents: [{ title: '遠隔の案件' }] });
    const byId = await core.value('customers:lookupCaller', { customerId, phone: '0312345678' });
    expect(byId).toMatchObject({ source: 'online', customer: { id: customerId } });
    expect(await core.value('customers:get', { customerId })).toMatchObject({ source: 'online', customer: { code: 'O-001' } });
    // A cached answer never goes to the backend.
    expect(await core.value('customers:search', { query: '山田' })).toMatchObject({ source: 'cache' });
    expect(await core.value('customers:lookupCaller', { phone: '+81 4 0000 0000' })).toBeNull();
  });
});

describe('outbox', () => {
  it('audits a customer shown from the cache offline once, with the time of the view, when the backend is back', async () => {
    const first = await serve();
    const core = coreFor(first.url);
    const session = await loginAndSync(core);
    const yamada = (await core.value('customers:search', { query: '山田' })).customers[0]!;
    const viewsOfYamada = () =>
      backend.handle.db
        .selectFrom('audit_events')
        .select(['at', 'details', 'user_id'])
        .where('action', '=', 'customer_viewed')
        .where('customer_id', '=', yamada.id)
        .where('details', 'like', '%cache_open%')
        .execute();
    const before = await viewsOfYamada();

    await first.app.close();
    await core.waitForStatus((s) => s.phase === 'offline' && !s.online, 'offline');
    const viewedFrom = new Date().toISOString();
    expect((await core.value('customers:get', { customerId: yamada.id })).source).toBe('cache');
    const viewedUntil = new Date().toISOString();
    // Shown again at once (a re-render): the same view.
    await core.value('customers:get', { customerId: yamada.id });
    expect(await viewsOfYamada()).toEqual(before);
    // Not counted as the user's changes waiting.
    expect((await core.value('sync:status', {})).pendingOutbox).toBe(0);

    await serve(undefined, first.port);
    await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle again');
    const after = await viewsOfYamada();
    expect(after).toHaveLength(before.length + 1);
    const added = after.find((row) => !before.some((old) => old.details === row.details))!;
    expect(added.user_id).toBe(session.user.id);
    expect(added.at >= viewedFrom && added.at <= viewedUntil).toBe(true);
    expect(core.events.filter((e) => e.event === 'outbox:delivered').flatMap((e) => (e.payload as { entries: { type: string }[] }).entries.map((x) => x.type))).not.toContain('customer_viewed');
    await core.value('sync:now', {});
    expect(await viewsOfYamada()).toHaveLength(before.length + 1);
  });

  it('keeps a note written offline as pending and stores it once when the backend is back', async () => {
    const first = await serve();
    const core = coreFor(first.url);
    await loginAndSync(core);
    const detail = await core.value('customers:lookupCaller', { phone: '0312345678' });
    const incidentId = detail?.incidents[0]?.id;
    expect(incidentId).toBeTruthy();

    await first.app.close();
    const body = `offline note ${Date.now()}`;
    const note = await core.value('notes:add', { incidentId: incidentId!, body });
    expect(note).toMatchObject({ pending: true, body, kind: 'note' });
    await core.waitForStatus((s) => s.phase === 'offline' && !s.online && s.pendingOutbox === 1, 'offline with one pending note');

    // Offline, the cache still answers and shows the note as pending.
    const offlineDetail = await core.value('customers:get', { customerId: detail!.customer.id });
    expect(offlineDetail.contacts.filter((c) => c.body === body).map((c) => c.pending)).toEqual([true]);
    expect((await core.value('customers:search', { query: '山田' })).customers).toHaveLength(1);
    expect(await serverContactsWithBody(body)).toEqual([]);

    await serve(undefined, first.port);
    await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'idle with the note pushed');

    const stored = await serverContactsWithBody(body);
    expect(stored).toHaveLength(1);
    const synced = await core.value('customers:get', { customerId: detail!.customer.id });
    expect(synced.contacts.filter((c) => c.body === body).map((c) => [c.id, c.pending])).toEqual([[stored[0]!.id, false]]);
    // The window is told that this very note was taken, so its confirmation can say "sent".
    expect(core.events.filter((e) => e.event === 'outbox:delivered').map((e) => e.payload)).toContainEqual({
      entries: [{ clientId: note.id, type: 'add_note', outcome: 'sent', error: null }],
    });
  });

  it('does not duplicate a note when the push response is lost and the push is retried', async () => {
    let pushes = 0;
    let dropped = 0;
    const { url } = await serve((app) => {
      app.addHook('onSend', async (request, _reply, payload) => {
        if (request.url !== API.syncPush) return payload;
        pushes += 1;
        if (pushes === 1) {
          // The backend has applied the push; the client never hears about it.
          dropped += 1;
          request.raw.socket.destroy();
        }
        return payload;
      });
    });
    const core = coreFor(url);
    await loginAndSync(core);
    const detail = await core.value('customers:lookupCaller', { phone: '0312345678' });
    const body = `lost response ${Date.now()}`;
    await core.value('notes:add', { incidentId: detail!.incidents[0]!.id, body });

    await core.waitForStatus((s) => s.phase === 'idle' && s.pendingOutbox === 0, 'idle with the note pushed');
    expect(dropped).toBe(1);
    expect(pushes).toBeGreaterThanOrEqual(2);
    const stored = await serverContactsWithBody(body);
    expect(stored).toHaveLength(1);
    const synced = await core.value('customers:get', { customerId: detail!.customer.id });
    expect(synced.contacts.filter((c) => c.body === body).map((c) => [c.id, c.pending])).toEqual([[stored[0]!.id, false]]);
  });

  it('keeps a rejected note with its error in the status', async () => {
    const doomed = await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: 'R-001',
      name: '却下 試験',
      incidents: [{ title: 'まもなく消える案件' }],
    });
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    const incidentId = doomed.incidentIds[0]!;
    // The incident disappears on the server (behind the feed's back) before the note is pushed.
    await backend.handle.db.deleteFrom('incidents').where('id', '=', incidentId).execute();
    const note = await core.value('notes:add', { incidentId, body: 'too late' });
    const status = await core.waitForStatus((s) => s.phase === 'idle' && s.lastError !== null, 'idle with the rejection');
    expect(core.events.filter((e) => e.event === 'outbox:delivered').map((e) => e.payload)).toContainEqual({
      entries: [{ clientId: note.id, type: 'add_note', outcome: 'rejected', error: expect.stringMatching(/incident not found/) }],
    });
    expect(status.pendingOutbox).toBe(0);
    expect(status.lastError).toMatch(/1 note was refused by the backend and not saved: incident not found/);
  });
});

describe('session', () => {
  it('answers a wrong password with unauthenticated and an unreachable backend with offline', async () => {
    const { url, app } = await serve();
    const core = coreFor(url);
    const wrong = await core.call('session:login', { ...supervisorLogin, password: 'wrong password' });
    expect(wrong).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    await app.close();
    const down = await core.call('session:login', supervisorLogin);
    expect(down).toMatchObject({ ok: false, error: { code: 'offline' } });
    expect(await core.value('session:current', undefined)).toBeNull();
  });

  it('reopens the last cache offline after a restart without the backend, and works from it', async () => {
    const first = await serve();
    const before = coreFor(first.url);
    await loginAndSync(before);
    await before.dispose();
    await first.app.close();

    const after = coreFor(first.url, { dataDir: before.dataDir, tokenStore: before.tokenStore });
    const restored = await after.value('session:current', undefined);
    expect(restored?.user.login).toBe('supervisor');
    const found = await after.value('customers:search', { query: 'ヤマダ' });
    expect(found).toMatchObject({ source: 'cache', customers: [{ name: '山田 太郎' }] });
  });

  it('ends the session with session:expired when the backend refuses the token', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    await backend.handle.db.deleteFrom('sessions').where('user_id', '=', backend.demo.users.supervisor.id).execute();
    // session:expired comes after the cache is closed and wiped, so it is what the test waits for.
    const expired = new Promise<void>((resolve) =>
      core.core.onEvent((...[event]) => {
        if (event === 'session:expired') resolve();
      }),
    );
    await core.call('sync:now', undefined);
    await core.waitForStatus((s) => s.phase === 'signed_out', 'signed out');
    await expired;
    expect(await core.tokenStore.get()).toBeNull();
    expect(await core.call('customers:search', { query: 'やまだ' })).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
  });
});
