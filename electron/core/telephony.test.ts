import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallWrapUpInput } from '../../shared/ipc.js';
import { buildApp } from '../../backend/src/app.js';
import { DEMO_PASSWORD } from '../../backend/src/testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../../backend/src/testing/harness.js';
import { waitFor } from '../../pbx/test-support/wait.js';
import { listenOn, startTestCore, type TestCore } from './testing/core-harness.js';

/**
 * The core's telephony channels against the real backend (Fastify on a loopback port, SQLite,
 * demo tenant, a SIP secret), through the IPC dispatcher as the renderer calls them.
 */

const SIP_SECRET = randomBytes(24).toString('hex');

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

/** A backend instance on the shared database, with the phone set up unless told otherwise. */
async function serve(
  options: { port?: number; sipSecret?: string | null; refuseCallEvents?: { refusing: boolean } } = {},
): Promise<{ app: FastifyInstance; url: string; port: number }> {
  const sipSecret = options.sipSecret === undefined ? SIP_SECRET : options.sipSecret;
  const app = buildApp({
    db: backend.handle,
    config: { ...backend.config, telephony: { ...backend.config.telephony, sipSecret, sipDomain: 'tsunagu.test' } },
  });
  const refusal = options.refuseCallEvents;
  if (refusal) {
    // The real backend, made to refuse call events the way it refuses a bad one (400 invalid_input).
    app.addHook('onRequest', async (request, reply) => {
      if (refusal.refusing && request.method === 'POST' && request.url === '/api/calls/events') {
        return reply.status(400).send({ error: { code: 'invalid_input', message: 'body.remote: refused for this test' } });
      }
    });
  }
  apps.push(app);
  const port = await listenOn(app, options.port ?? 0);
  return { app, url: `http://127.0.0.1:${port}`, port };
}

function coreFor(url: string, options: Partial<Parameters<typeof startTestCore>[0]> = {}): TestCore {
  const core = startTestCore({ backendUrl: url, ...options });
  cores.push(core);
  return core;
}

async function loginAndSync(core: TestCore, login = 'supervisor') {
  const session = await core.value('session:login', { tenant: 'demo', login, password: DEMO_PASSWORD });
  await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');
  return session;
}

async function goOffline(core: TestCore, app: FastifyInstance): Promise<void> {
  await app.close();
  await core.value('sync:now', undefined);
  await core.waitForStatus((s) => !s.online, 'offline');
}

/** Every file under dir, read whole (the cache, its WAL, the last-session file). */
function filesContain(dir: string, needle: string): string[] {
  const hits: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (fs.readFileSync(file).includes(needle)) hits.push(file);
  }
  return hits;
}

const wrapUp = (overrides: Partial<CallWrapUpInput>): CallWrapUpInput => ({
  callId: `call-${randomBytes(4).toString('hex')}@test`,
  customerId: backend.demo.customers.yamada.id,
  incidentId: backend.demo.customers.yamada.incidentIds[0]!,
  newIncidentTitle: null,
  direction: 'inbound',
  summary: '請求書の再送についてご案内',
  body: '',
  disposition: 'resolved',
  callbackNeeded: false,
  remote: '+81312345678',
  startedAt: '2026-06-01T01:00:00.000Z',
  answeredAt: '2026-06-01T01:00:06.000Z',
  endedAt: '2026-06-01T01:03:06.000Z',
  ...overrides,
});

describe('calls:wrapUp', () => {
  it('shows a wrap-up made offline at once as pending, and stores it once on the server when back online', async () => {
    const first = await serve();
    const core = coreFor(first.url);
    await loginAndSync(core);
    const yamada = backend.demo.customers.yamada.id;
    await goOffline(core, first.app);

    const inIncident = wrapUp({ summary: 'オフラインで記録した通話', callbackNeeded: true, disposition: 'callback' });
    const contact = await core.value('calls:wrapUp', inIncident);
    expect(contact).toMatchObject({ pending: true, kind: 'call', direction: 'inbound', incidentId: inIncident.incidentId, summary: inIncident.summary });
    expect(contact.callMeta).toEqual({
      callId: inIncident.callId,
      from: '+81312345678',
      to: 'supervisor',
      startedAt: inIncident.startedAt,
      answeredAt: inIncident.answeredAt,
      endedAt: inIncident.endedAt,
      durationSeconds: 180,
      disposition: 'callback',
      callbackNeeded: true,
    });
    const withNewIncident = await core.value('calls:wrapUp', wrapUp({ incidentId: null, newIncidentTitle: '新規: 解約のご相談', summary: '解約について' }));
    await core.waitForStatus((s) => !s.online && s.pendingOutbox === 2, 'offline with two pending wrap-ups');

    const offline = await core.value('customers:get', { customerId: yamada });
    expect(offline.contacts.filter((c) => c.kind === 'call' && c.pending).map((c) => c.summary).sort()).toEqual(['オフラインで記録した通話', '解約について']);
    expect(offline.incidents.find((i) => i.id === withNewIncident.incidentId)).toMatchObject({ title: '新規: 解約のご相談', status: 'open' });

    await serve({ port: first.port });
    await core.waitForStatus((s) => s.phase === 'idle' && s.online && s.pendingOutbox === 0, 'idle with the wrap-ups pushed');

    const onServer = await backend.handle.db
      .selectFrom('contacts')
      .select(['id', 'incident_id', 'call_meta'])
      .where('call_meta', 'like', `%${inIncident.callId}%`)
      .execute();
    expect(onServer).toHaveLength(1);
    expect(JSON.parse(onServer[0]!.call_meta!)).toEqual(contact.callMeta);
    const newIncident = await backend.handle.db.selectFrom('incidents').selectAll().where('id', '=', withNewIncident.incidentId).executeTakeFirst();
    expect(newIncident).toMatchObject({ title: '新規: 解約のご相談', customer_id: yamada });

    const synced = await core.value('customers:get', { customerId: yamada });
    expect(synced.contacts.filter((c) => c.summary === 'オフラインで記録した通話').map((c) => [c.id, c.pending])).toEqual([[onServer[0]!.id, false]]);
    expect(synced.incidents.filter((i) => i.title === '新規: 解約のご相談')).toHaveLength(1);
  });

  it('refuses an incident of another customer, naming the field', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    const result = await core.call('calls:wrapUp', wrapUp({ incidentId: backend.demo.customers.sato.incidentIds[0]! }));
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(!result.ok && result.error.message).toContain('incidentId');
    const both = await core.call('calls:wrapUp', wrapUp({ newIncidentTitle: 'both' }));
    expect(both).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });
});

describe('customers:lookupCaller for the screen pop', () => {
  it('lets the IVR customer id beat the number, and answers from the cache', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core);
    const { yamada, sato } = backend.demo.customers;
    expect(await core.value('customers:lookupCaller', { phone: '0299990000' })).toBeNull();
    const satoByNumber = await core.value('customers:lookupCaller', { phone: '0661234567' });
    expect(satoByNumber).toMatchObject({ customer: { id: sato.id }, source: 'cache' });
    const ivr = await core.value('customers:lookupCaller', { phone: '0661234567', customerId: yamada.id });
    expect(ivr).toMatchObject({ customer: { id: yamada.id }, source: 'cache' });
    // An IVR id that names nobody: the number still finds the caller.
    const unknownId = await core.value('customers:lookupCaller', { phone: '+81661234567', customerId: 'no-such-customer' });
    expect(unknownId).toMatchObject({ customer: { id: sato.id } });
    expect(await core.value('customers:lookupCaller', { phone: 'anonymous' })).toBeNull();
  });
});

describe('calls:event', () => {
  it('answers at once, queues while offline, and delivers each event once, in order, when back', async () => {
    const first = await serve();
    const core = coreFor(first.url);
    const session = await loginAndSync(core);
    const callId = `queued-${randomBytes(4).toString('hex')}@test`;
    const event = (name: 'ringing' | 'answered' | 'ended') => ({
      callId,
      event: name,
      direction: 'inbound' as const,
      remote: '+81312345678',
      customerId: backend.demo.customers.yamada.id,
      at: new Date().toISOString(),
    });
    const audited = async () =>
      (
        await backend.handle.db
          .selectFrom('audit_events')
          .select(['action', 'details', 'user_id', 'customer_id'])
          .where('details', 'like', `%${callId}%`)
          .orderBy('id')
          .execute()
      ).map((row) => row.action);

    expect(await core.value('calls:event', event('ringing'))).toBeNull();
    await waitFor(audited, (actions) => actions.length === 1, 'the ringing event on the server');

    await goOffline(core, first.app);
    expect(await core.value('calls:event', event('answered'))).toBeNull();
    expect(await core.value('calls:event', event('ended'))).toBeNull();
    expect(await audited()).toEqual(['call_ringing']);

    await serve({ port: first.port });
    await core.waitForStatus((s) => s.online, 'online again');
    const actions = await waitFor(audited, (list) => list.length >= 3, 'the queued events on the server');
    expect(actions).toEqual(['call_ringing', 'call_answered', 'call_ended']);
    const rows = await backend.handle.db.selectFrom('audit_events').select(['user_id', 'customer_id']).where('details', 'like', `%${callId}%`).execute();
    expect(new Set(rows.map((row) => `${row.user_id}/${row.customer_id}`))).toEqual(new Set([`${session.user.id}/${backend.demo.customers.yamada.id}`]));
  });

  it('sets a refused event aside for the operator, who can send it again or discard it', async () => {
    const refusal = { refusing: true };
    const { url } = await serve({ refuseCallEvents: refusal });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-telephony-'));
    const core = coreFor(url, { dataDir });
    await loginAndSync(core);
    const callId = `refused-${randomBytes(4).toString('hex')}@test`;
    const event = (name: 'missed' | 'ended') => ({ callId, event: name, direction: 'inbound' as const, remote: '0312345678', customerId: null, at: new Date().toISOString() });
    await core.value('calls:event', event('missed'));
    await core.value('calls:event', event('ended'));

    // Both refused: pushed to the renderer and listed, with the backend's reason; nothing sent.
    const refused = await waitFor(() => core.value('calls:refused', undefined), (list) => list.length === 2, 'two refused events');
    expect(refused.map((entry) => [entry.input.event, entry.code, entry.message])).toEqual([
      ['missed', 'invalid_input', 'body.remote: refused for this test'],
      ['ended', 'invalid_input', 'body.remote: refused for this test'],
    ]);
    const pushed = core.events.filter((e) => e.event === 'calls:refused').at(-1)?.payload as { refused: unknown[] } | undefined;
    expect(pushed?.refused).toHaveLength(2);
    const audited = () => backend.handle.db.selectFrom('audit_events').select('action').where('details', 'like', `%${callId}%`).execute();
    expect(await audited()).toEqual([]);

    // Kept across a restart of the app.
    await core.dispose();
    const restarted = coreFor(url, { dataDir, tokenStore: core.tokenStore });
    expect(await restarted.value('session:current', undefined)).not.toBeNull();
    expect((await restarted.value('calls:refused', undefined)).map((entry) => entry.id)).toEqual(refused.map((entry) => entry.id));

    // The backend accepts again: the operator sends the first again; it arrives once.
    refusal.refusing = false;
    const left = await restarted.value('calls:resendRefused', { id: refused[0]!.id });
    expect(left.map((entry) => entry.id)).toEqual([refused[1]!.id]);
    await waitFor(audited, (rows) => rows.length === 1, 'the resent event on the server');
    expect((await audited()).map((row) => row.action)).toEqual(['call_missed']);

    // Discarded: gone from the list, never sent; an unknown id names what is wrong.
    expect(await restarted.value('calls:discardRefused', { id: refused[1]!.id })).toEqual([]);
    const again = await restarted.call('calls:discardRefused', { id: refused[1]!.id });
    expect(again.ok ? null : again.error.code).toBe('not_found');
    expect(await audited()).toHaveLength(1);
  });

  it('keeps events across a restart of the app while the backend is away', async () => {
    const first = await serve();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-telephony-'));
    const core = coreFor(first.url, { dataDir });
    await loginAndSync(core);
    await goOffline(core, first.app);
    const callId = `restart-${randomBytes(4).toString('hex')}@test`;
    await core.value('calls:event', { callId, event: 'missed', direction: 'inbound', remote: '0312345678', customerId: null, at: new Date().toISOString() });
    await core.dispose();

    const second = await serve({ port: first.port });
    const restarted = coreFor(second.url, { dataDir, tokenStore: core.tokenStore });
    expect(await restarted.value('session:current', undefined)).not.toBeNull();
    await waitFor(
      () => backend.handle.db.selectFrom('audit_events').select('action').where('details', 'like', `%${callId}%`).execute(),
      (rows) => rows.length === 1,
      'the event kept across the restart',
    );
  });
});

describe('telephony:settings and sip:credentials', () => {
  it('serves the settings offline from the cache once they were fetched', async () => {
    const first = await serve();
    const core = coreFor(first.url);
    await loginAndSync(core);
    const online = await core.value('telephony:settings', undefined);
    expect(online).toMatchObject({ customerIdHeader: 'X-Customer-Id', defaultRegion: 'JP' });
    expect(online.dispositions.length).toBeGreaterThan(0);
    const neverAsked = coreFor(first.url);
    await loginAndSync(neverAsked, 'agent');

    await goOffline(core, first.app);
    expect(await core.value('telephony:settings', undefined)).toEqual(online);
    expect(await neverAsked.call('telephony:settings', undefined)).toMatchObject({ ok: false, error: { code: 'offline' } });
  });

  it('fetches SIP credentials from the backend, never writes them to disk, and says offline when it cannot', async () => {
    const first = await serve();
    const core = coreFor(first.url);
    await loginAndSync(core, 'agent');
    const credentials = await core.value('sip:credentials', undefined);
    expect(credentials).toMatchObject({ aor: 'sip:agent.demo@tsunagu.test', wsUrl: 'ws://127.0.0.1:5066' });
    expect(credentials.username).toMatch(/^\d+:agent\.demo$/);
    await core.value('sync:now', undefined);
    expect(filesContain(core.dataDir, credentials.password)).toEqual([]);

    await goOffline(core, first.app);
    expect(await core.call('sip:credentials', undefined)).toMatchObject({ ok: false, error: { code: 'offline' } });
  });

  it('passes on why a backend without a SIP secret cannot issue credentials', async () => {
    const { url } = await serve({ sipSecret: null });
    const core = coreFor(url);
    await loginAndSync(core, 'agent');
    const result = await core.call('sip:credentials', undefined);
    // Not "offline": the backend answered, and the window says it in the operator's language.
    expect(result).toMatchObject({ ok: false, error: { code: 'not_configured' } });
    expect(!result.ok && result.error.message).toContain('TSUNAGU_SIP_SECRET');
  });
});

describe('customers:create', () => {
  it('creates an unregistered caller as a customer online and caches it for the next screen pop', async () => {
    const first = await serve();
    const core = coreFor(first.url);
    await loginAndSync(core, 'osaka');
    const created = await core.value('customers:create', { code: 'NEW-001', name: '新規 顧客', phones: [{ number: '06-6999-0001' }] });
    expect(created).toMatchObject({ customer: { code: 'NEW-001', branch: 'osaka', phones: [{ e164: '+81669990001' }] }, incidents: [], contacts: [] });

    await goOffline(core, first.app);
    expect(await core.value('customers:lookupCaller', { phone: '0669990001' })).toMatchObject({ customer: { id: created.customer.id }, source: 'cache' });
    const offline = await core.call('customers:create', { code: 'NEW-002', name: 'オフライン' });
    expect(offline).toMatchObject({ ok: false, error: { code: 'offline' } });
  });

  it('refuses users who may not create customers, and bad input naming the field', async () => {
    const { url } = await serve();
    const core = coreFor(url);
    await loginAndSync(core, 'agent');
    expect(await core.call('customers:create', { code: 'NEW-003', name: '権限なし' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const bad = await core.call('customers:create', { code: '', name: 'x' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(!bad.ok && bad.error.message).toContain('code');
  });
});
