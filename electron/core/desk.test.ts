import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../backend/src/app.js';
import { callsDb } from '../../backend/src/calls/schema.js';
import { DEMO_PASSWORD } from '../../backend/src/testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../../backend/src/testing/harness.js';
import { insertConnectedCall } from '../../backend/src/telephony/fixtures.js';
import { listenOn, startTestCore, type TestCore } from './testing/core-harness.js';

/**
 * The core's desk channels (incidents, customer edits, call history) against the real backend,
 * through the IPC dispatcher as the renderer calls them; offline by closing the backend.
 */

let backend: TestBackend;
const cores: TestCore[] = [];
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  backend = await startTestBackend('sqlite');
});
afterEach(async () => {
  for (const core of cores.splice(0)) await core.dispose();
  for (const app of apps.splice(0)) await app.close();
});
afterAll(async () => {
  await backend?.dispose();
});

async function serve(port = 0): Promise<{ app: FastifyInstance; url: string; port: number }> {
  const app = buildApp({ db: backend.handle, config: backend.config });
  apps.push(app);
  const bound = await listenOn(app, port);
  return { app, url: `http://127.0.0.1:${bound}`, port: bound };
}

async function signedIn(url: string, login = 'agent'): Promise<TestCore> {
  const core = startTestCore({ backendUrl: url });
  cores.push(core);
  await core.value('session:login', { tenant: 'demo', login, password: DEMO_PASSWORD });
  await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');
  return core;
}

async function goOffline(core: TestCore, app: FastifyInstance): Promise<void> {
  await app.close();
  await core.value('sync:now', undefined);
  await core.waitForStatus((s) => !s.online, 'offline');
}

describe('incidents through the outbox', () => {
  it('creates, renames, closes and moves a contact offline, shown at once, applied once when back', async () => {
    const first = await serve();
    const core = await signedIn(first.url);
    const { yamada } = backend.demo.customers;
    const agent = backend.demo.users.agent;
    await goOffline(core, first.app);

    const created = await core.value('incidents:create', { customerId: yamada.id, title: '口座振替の変更', assigneeId: agent.id });
    expect(created).toMatchObject({ customerId: yamada.id, title: '口座振替の変更', status: 'open', assigneeName: agent.displayName });
    const closed = await core.value('incidents:update', { incidentId: yamada.incidentIds[0]!, title: '請求書の再発行（済）', status: 'closed' });
    expect(closed).toMatchObject({ title: '請求書の再発行（済）', status: 'closed' });
    const detail = await core.value('customers:get', { customerId: yamada.id });
    const note = detail.contacts.find((c) => c.kind === 'note')!;
    const moved = await core.value('contacts:move', { contactId: note.id, incidentId: created.id });
    expect(moved.incidentId).toBe(created.id);
    await core.waitForStatus((s) => s.pendingOutbox === 3, 'three changes waiting');

    const offline = await core.value('customers:get', { customerId: yamada.id });
    expect(offline.incidents.map((i) => [i.title, i.status]).sort()).toEqual([
      ['口座振替の変更', 'open'],
      ['請求書の再発行（済）', 'closed'],
    ]);
    expect(offline.contacts.find((c) => c.id === note.id)?.incidentId).toBe(created.id);

    await serve(first.port);
    await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'pushed');
    const onServer = await backend.handle.db.selectFrom('incidents').selectAll().where('customer_id', '=', yamada.id).execute();
    expect(onServer.map((i) => [i.id, i.title, i.status]).sort()).toEqual(
      [
        [created.id, '口座振替の変更', 'open'],
        [yamada.incidentIds[0], '請求書の再発行（済）', 'closed'],
      ].sort(),
    );
    const contact = await backend.handle.db.selectFrom('contacts').select('incident_id').where('id', '=', note.id).executeTakeFirstOrThrow();
    expect(contact.incident_id).toBe(created.id);
  });

  it('puts a refused change right from the backend', async () => {
    const { url } = await serve();
    const core = await signedIn(url);
    const { yamada } = backend.demo.customers;
    const incidentId = yamada.incidentIds[0]!;
    // The agent may not hand an incident that is not theirs to a colleague: the backend refuses.
    await backend.handle.db.updateTable('incidents').set({ assignee_id: null }).where('id', '=', incidentId).execute();
    await core.value('incidents:update', { incidentId, assigneeId: backend.demo.users.supervisor.id });
    await core.waitForStatus((s) => s.phase === 'idle' && s.pendingOutbox === 0 && s.lastError !== null, 'the change refused');
    await expect
      .poll(async () => (await core.value('customers:get', { customerId: yamada.id })).incidents.find((i) => i.id === incidentId)?.assigneeId)
      .toBe(null);
  });

  it('edits a customer online and refuses what only supervisors may change', async () => {
    const { url } = await serve();
    const core = await signedIn(url);
    const { yamada } = backend.demo.customers;
    const detail = await core.value('customers:update', { customerId: yamada.id, changes: { address: '東京都港区1-2-3', phones: [{ number: '03-1111-2222' }] } });
    expect(detail.customer).toMatchObject({ address: '東京都港区1-2-3', phones: [{ e164: '+81311112222', kind: 'landline' }] });
    expect((await core.value('customers:get', { customerId: yamada.id })).customer.address).toBe('東京都港区1-2-3');
    const refused = await core.call('customers:update', { customerId: yamada.id, changes: { classification: 1 } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });
});

describe('call history', () => {
  it('shows a missed call with its badge online and offline, and clears the badge when seen', async () => {
    const first = await serve();
    const core = await signedIn(first.url);
    const { yamada } = backend.demo.customers;
    const at = new Date().toISOString();
    const base = { callId: 'desk-missed@test', direction: 'inbound' as const, remote: '+81312345678', customerId: yamada.id };
    await core.value('calls:event', { ...base, event: 'ringing', at });
    await core.value('calls:event', { ...base, event: 'missed', at });

    await expect.poll(async () => (await core.value('calls:history', undefined)).calls.find((c) => c.callId === base.callId)?.local).toBe(false);
    const online = await core.value('calls:history', undefined);
    expect(online).toMatchObject({ source: 'online', missedUnseen: 1 });
    expect(online.calls[0]).toMatchObject({ callId: base.callId, outcome: 'missed', customerName: '山田 太郎' });

    await goOffline(core, first.app);
    const offlineCall = { ...base, callId: 'desk-offline@test' };
    await core.value('calls:event', { ...offlineCall, event: 'ringing', at: new Date().toISOString() });
    await core.value('calls:event', { ...offlineCall, event: 'missed', at: new Date().toISOString() });
    const offline = await core.value('calls:history', undefined);
    expect(offline.source).toBe('cache');
    expect(offline.calls.map((c) => [c.callId, c.outcome, c.local])).toEqual([
      ['desk-offline@test', 'missed', true],
      ['desk-missed@test', 'missed', false],
    ]);
    expect(offline.missedUnseen).toBe(2);
    expect((await core.value('calls:historySeen', undefined)).missedUnseen).toBe(0);
  });

  it('counts the missed-call badge after a missed call without fetching the history again (issue 13 item 7)', async () => {
    const app = buildApp({ db: backend.handle, config: backend.config });
    apps.push(app);
    const historyFetches: string[] = [];
    app.addHook('onRequest', async (request) => {
      if (request.url.startsWith('/api/calls/history')) historyFetches.push(request.url);
    });
    const core = await signedIn(`http://127.0.0.1:${await listenOn(app)}`);
    // The first count of a session fetches the history once.
    const first = await core.value('calls:historyCounts', undefined);
    expect(historyFetches).toHaveLength(1);
    const base = { callId: 'desk-counted@test', direction: 'inbound' as const, remote: '+81312345678', customerId: null };
    await core.value('calls:event', { ...base, event: 'ringing', at: new Date().toISOString() });
    await core.value('calls:event', { ...base, event: 'missed', at: new Date().toISOString() });
    expect(await core.value('calls:historyCounts', undefined)).toEqual({ missedUnseen: first.missedUnseen + 1 });
    expect(historyFetches).toHaveLength(1);
    // Opening the history fetches it and clears the badge.
    expect((await core.value('calls:historySeen', undefined)).calls.find((c) => c.callId === base.callId)?.outcome).toBe('missed');
    expect(historyFetches).toHaveLength(2);
    expect(await core.value('calls:historyCounts', undefined)).toEqual({ missedUnseen: 0 });
  });

  it('lists a call beyond the backend\'s page of history no more as "not yet on the server"', async () => {
    const first = await serve();
    const core = await signedIn(first.url);
    const agent = backend.demo.users.agent;
    const older = { callId: 'desk-older@test', direction: 'inbound' as const, remote: '+81312345678', customerId: null };
    await core.value('calls:event', { ...older, event: 'ringing', at: new Date(Date.now() - 3_600_000).toISOString() });
    await core.value('calls:event', { ...older, event: 'missed', at: new Date(Date.now() - 3_600_000).toISOString() });
    await expect.poll(async () => (await core.value('calls:history', undefined)).calls.find((c) => c.callId === older.callId)?.local).toBe(false);

    // A full page of newer calls on the backend: the older call is beyond it.
    for (let n = 0; n < 200; n++) await insertConnectedCall(backend.handle.db, backend.demo.tenant.id, { agentId: agent.id, customerId: null });
    const view = await core.value('calls:history', undefined);
    expect(view.calls).toHaveLength(200);
    expect(view.calls.filter((c) => c.local)).toEqual([]);
  });

  it('lists a callback flagged in a wrap-up, and marks it done offline', async () => {
    const first = await serve();
    const core = await signedIn(first.url);
    const { yamada } = backend.demo.customers;
    await goOffline(core, first.app);
    await core.value('calls:wrapUp', {
      callId: 'desk-callback@test',
      customerId: yamada.id,
      incidentId: yamada.incidentIds[0]!,
      newIncidentTitle: null,
      direction: 'inbound',
      summary: '折り返し希望',
      body: '',
      disposition: 'callback',
      callbackNeeded: true,
      remote: '+81312345678',
      startedAt: new Date().toISOString(),
      answeredAt: new Date().toISOString(),
      endedAt: new Date().toISOString(),
    });
    const offline = await core.value('calls:history', undefined);
    const callback = offline.callbacks.find((c) => c.callId === 'desk-callback@test');
    expect(callback).toMatchObject({ customerName: '山田 太郎', remote: '+81312345678', doneAt: null, pending: true });

    await serve(first.port);
    await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'pushed');
    const online = await core.value('calls:history', undefined);
    expect(online.callbacks.find((c) => c.id === callback!.id)).toMatchObject({ doneAt: null, pending: false });

    await core.value('callbacks:complete', { callbackId: callback!.id });
    expect((await core.value('calls:history', undefined)).callbacks.find((c) => c.id === callback!.id)?.doneReason).toBe('marked');
    await core.waitForStatus((s) => s.pendingOutbox === 0, 'pushed');
    const row = await callsDb(backend.handle.db).selectFrom('callbacks').select('done_reason').where('id', '=', callback!.id).executeTakeFirst();
    expect(row).toEqual({ done_reason: 'marked' });
  });

  it('puts a callback flagged offline on the worklist at once with its due time, then the backend keeps it', async () => {
    const first = await serve();
    const core = await signedIn(first.url);
    const { yamada } = backend.demo.customers;
    await goOffline(core, first.app);
    const dueAt = new Date(Date.now() + 30 * 60_000).toISOString();
    const now = new Date().toISOString();
    await core.value('calls:wrapUp', {
      callId: 'desk-worklist@test',
      customerId: yamada.id,
      incidentId: yamada.incidentIds[0]!,
      newIncidentTitle: null,
      direction: 'inbound',
      summary: '夕方に折り返し',
      body: '',
      disposition: 'callback',
      callbackNeeded: true,
      callbackDueAt: dueAt,
      remote: '+81312345678',
      startedAt: now,
      answeredAt: now,
      endedAt: now,
    });
    const offline = await core.value('callbacks:list', undefined);
    expect(offline.source).toBe('cache');
    const task = offline.mine.find((c) => c.callId === 'desk-worklist@test');
    expect(task).toMatchObject({ customerName: '山田 太郎', dueAt, overdue: false, pending: true });

    await serve(first.port);
    await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'pushed');
    const online = await core.value('callbacks:list', undefined);
    expect(online.source).toBe('online');
    expect(online.mine.find((c) => c.id === task!.id)).toMatchObject({ dueAt, pending: false, flaggedByName: backend.demo.users.agent.displayName });

    await core.value('callbacks:complete', { callbackId: task!.id });
    expect((await core.value('callbacks:list', undefined)).mine.find((c) => c.id === task!.id)).toBeUndefined();
  });
});
