import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../../shared/api.js';
import { buildApp } from '../../backend/src/app.js';
import { recordBranchCallChange } from '../../backend/src/branch-calls/load.js';
import { branchCallsDb, branchCallsTrx } from '../../backend/src/branch-calls/schema.js';
import { writeTransaction } from '../../backend/src/sync/changelog.js';
import { DEMO_PASSWORD } from '../../backend/src/testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../../backend/src/testing/harness.js';
import { listenOn, startTestCore, type TestCore } from './testing/core-harness.js';

/**
 * The core's "calls for you" channels against the real backend, through the IPC dispatcher as
 * the renderer calls them: the list from the real SQLite cache that the sync feed fills (a call
 * made after sign-in arrives through the feed), the same offline with the backend stopped, and
 * handling through the outbox (shown as pending at once, applied once when the backend is back).
 */

let backend: TestBackend;
const cores: TestCore[] = [];
const apps: FastifyInstance[] = [];

/** A missed call of 山田 to the demo agent, as the PBX's report records it (with its change-log entry). */
async function missedCall(callId: string): Promise<void> {
  const now = new Date().toISOString();
  const { agent } = backend.demo.users;
  const customerId = backend.demo.customers.yamada.id;
  await writeTransaction(backend.handle, async (tx) => {
    await branchCallsTrx(tx.trx)
      .insertInto('calls')
      .values({
        id: `leg-${callId}`,
        tenant_id: backend.demo.tenant.id,
        external_id: callId,
        status: 'ended',
        direction: 'inbound',
        agent_id: agent.id,
        from_number: '+81312345678',
        to_number: 'agent.demo',
        started_at: now,
        answered_at: null,
        ended_at: now,
        updated_at: now,
        customer_id: customerId,
        call_log_contact_id: null,
      })
      .execute();
    await recordBranchCallChange(tx, { tenantId: backend.demo.tenant.id, key: callId, customerId });
  });
}

beforeAll(async () => {
  backend = await startTestBackend('sqlite');
  await missedCall('core-call-1');
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

describe('calls for you in the core', () => {
  it('lists online, then from the last copy offline; a call handled offline is pending, then applied once', async () => {
    const first = await serve();
    const core = startTestCore({ backendUrl: first.url });
    cores.push(core);
    await core.value('session:login', { tenant: 'demo', login: 'agent', password: DEMO_PASSWORD });
    await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');

    const online = await core.value('callsForYou:list', { scope: 'mine' });
    expect(online).toMatchObject({ source: 'online', counts: { unhandled: 1, handled: 0 } });
    expect(online.entries.map((e) => [e.key, e.outcome, e.customer?.name])).toEqual([['core-call-1', 'missed', '山田 太郎']]);
    // A call after sign-in reaches the cache through the feed.
    await missedCall('core-call-live');
    await core.value('sync:now', undefined);
    await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'synced the new call');
    const live = await core.value('callsForYou:list', { scope: 'mine' });
    expect(live.entries.map((e) => e.key).sort()).toEqual(['core-call-1', 'core-call-live']);
    const refused = await core.call('callsForYou:list', { scope: 'all' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    await first.app.close();
    await core.value('sync:now', undefined);
    await core.waitForStatus((s) => !s.online, 'offline');
    const offline = await core.value('callsForYou:list', { scope: 'mine' });
    expect(offline).toMatchObject({ source: 'cache', counts: { unhandled: 2 } });
    // Never opened in this session: from the same cached calls.
    const branch = await core.value('callsForYou:list', { scope: 'branch' });
    expect(branch).toMatchObject({ source: 'cache', counts: { unhandled: 2 } });

    const bad = await core.call('callsForYou:handle', {
      callKey: 'core-call-1',
      customerId: backend.demo.customers.yamada.id,
      incidentId: null,
      action: { kind: 'visit', date: '2026-12-10', time: '9:00', place: 'x', note: '' },
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(bad.ok ? '' : bad.error.message).toContain('action.time');

    await core.value('callsForYou:handle', {
      callKey: 'core-call-1',
      customerId: backend.demo.customers.yamada.id,
      incidentId: null,
      action: { kind: 'contact', summary: '折り返し予定', body: '' },
    });
    const pending = await core.value('callsForYou:list', { scope: 'mine' });
    expect(pending.entries.find((e) => e.key === 'core-call-1')).toMatchObject({ pending: true, handled: { kind: 'contact', by: { id: backend.demo.users.agent.id } } });
    expect(pending.counts).toEqual({ handled: 1, unhandled: 1 });
    // The counts alone (the badge while the list is closed) say the same, under the same rights.
    expect(await core.value('callsForYou:counts', { scope: 'mine' })).toEqual({ handled: 1, unhandled: 1 });
    expect(await core.call('callsForYou:counts', { scope: 'all' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    await serve(first.port);
    await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'pushed');
    const after = await core.value('callsForYou:list', { scope: 'mine' });
    expect(after).toMatchObject({ source: 'online', counts: { handled: 1, unhandled: 1 } });
    // The handled state now comes from the server, through the feed.
    expect(after.entries.find((e) => e.key === 'core-call-1')).toMatchObject({ pending: false, handled: { kind: 'contact', contactId: expect.any(String) } });
    const rows = await branchCallsDb(backend.handle.db).selectFrom('call_handling').selectAll().execute();
    expect(rows.map((row) => [row.call_key, row.kind])).toEqual([['core-call-1', 'contact']]);
  });

  it("drops a cached call when the user's rights no longer reach its customer", async () => {
    await missedCall('core-call-2');
    const first = await serve();
    const core = startTestCore({ backendUrl: first.url });
    cores.push(core);
    await core.value('session:login', { tenant: 'demo', login: 'agent', password: DEMO_PASSWORD });
    await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');
    // core-call-2 and the live call of the first test (core-call-1 was handled before this sign-in).
    expect((await core.value('callsForYou:list', { scope: 'mine' })).entries.map((e) => e.key).sort()).toEqual(['core-call-2', 'core-call-live']);

    // Moved to the osaka branch: 山田 (no branch) is out of reach, and so are its calls.
    const admin = await backend.login('admin');
    const moved = await backend.send('PATCH', API.userRights.replace(':id', backend.demo.users.agent.id), { branch: 'osaka' }, admin);
    expect(moved.statusCode, moved.body).toBe(200);
    await core.value('sync:now', undefined);
    await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'synced with the new rights');
    await first.app.close();
    await core.value('sync:now', undefined);
    await core.waitForStatus((s) => !s.online, 'offline');
    const offline = await core.value('callsForYou:list', { scope: 'mine' });
    expect(offline).toMatchObject({ source: 'cache', entries: [], counts: { handled: 0, unhandled: 0 } });
    await backend.send('PATCH', API.userRights.replace(':id', backend.demo.users.agent.id), { branch: null }, admin);
  });
});
