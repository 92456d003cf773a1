import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentStatusState } from '../../shared/ipc.js';
import { buildApp } from '../../backend/src/app.js';
import { mailDb } from '../../backend/src/mail/schema.js';
import { DEMO_PASSWORD } from '../../backend/src/testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../../backend/src/testing/harness.js';
import { waitFor } from '../../pbx/test-support/wait.js';
import { listenOn, startTestCore, type TestCore } from './testing/core-harness.js';

/**
 * Issue 8 item 1: a status chosen while the backend cannot be reached reaches it once it is
 * back, the newest choice winning, and the screen can tell until then that the server does
 * not have it. The core against the real backend (Fastify on loopback), stopped and started
 * again on the same port like a backend that went away.
 */
describe.each(DIALECTS)('operator status through the core on %s', (dialect) => {
  let backend: TestBackend;
  const cores: TestCore[] = [];
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
  });
  afterEach(async () => {
    for (const core of cores.splice(0)) await core.dispose();
    for (const app of apps.splice(0)) await app.close();
  });
  afterAll(() => backend?.dispose());

  async function serve(port = 0): Promise<{ app: FastifyInstance; url: string; port: number }> {
    const app = buildApp({ db: backend.handle, config: backend.config });
    apps.push(app);
    const bound = await listenOn(app, port);
    return { app, url: `http://127.0.0.1:${bound}`, port: bound };
  }

  const presenceOf = async (userId: string) =>
    mailDb(backend.handle.db).selectFrom('agent_presence').select(['status']).where('user_id', '=', userId).executeTakeFirst();

  const statusEvents = (core: TestCore) => core.events.filter((e) => e.event === 'agent:status').map((e) => e.payload as AgentStatusState);

  async function signIn(url: string, login: string) {
    const core = startTestCore({ backendUrl: url });
    cores.push(core);
    const session = await core.value('session:login', { tenant: 'demo', login, password: DEMO_PASSWORD });
    await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');
    return { core, userId: session.user.id };
  }

  it('signs in available, and a choice online is confirmed by the backend', async () => {
    const { url } = await serve();
    const { core, userId } = await signIn(url, 'agent');
    await waitFor(async () => (await core.value('agent:status', undefined))?.confirmed, Boolean, 'the sign-in status confirmed');
    expect(await presenceOf(userId)).toMatchObject({ status: 'available' });

    const chosen = await core.value('agent:setStatus', { status: 'after_call_work' });
    expect(chosen).toMatchObject({ status: 'after_call_work', error: null });
    await waitFor(async () => statusEvents(core).at(-1), (s) => s?.status === 'after_call_work' && s.confirmed, 'the choice confirmed');
    expect(await presenceOf(userId)).toMatchObject({ status: 'after_call_work' });
    expect(await core.call('agent:setStatus', { status: 'asleep' as never })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('keeps a status chosen offline unconfirmed and sends the latest choice when the backend is back', async () => {
    const first = await serve();
    const { core, userId } = await signIn(first.url, 'supervisor');
    await waitFor(async () => (await core.value('agent:status', undefined))?.confirmed, Boolean, 'the sign-in status confirmed');

    await first.app.close();
    await core.value('sync:now', undefined);
    await core.waitForStatus((s) => !s.online, 'offline');

    expect(await core.value('agent:setStatus', { status: 'after_call_work' })).toMatchObject({ status: 'after_call_work', confirmed: false, error: null });
    const onBreak = await core.value('agent:setStatus', { status: 'break' });
    expect(onBreak).toMatchObject({ status: 'break', confirmed: false, error: null });
    expect(await core.value('agent:status', undefined)).toMatchObject({ status: 'break', confirmed: false });
    expect(await presenceOf(userId)).toMatchObject({ status: 'available' });

    // The backend returns on the same address; the engine notices and the choice goes out.
    await serve(first.port);
    await core.value('sync:now', undefined);
    await waitFor(async () => statusEvents(core).at(-1), (s) => s?.status === 'break' && s.confirmed, 'the offline choice confirmed');
    expect(await presenceOf(userId)).toMatchObject({ status: 'break' });
    expect(statusEvents(core).at(-1)?.changedAt).toBe(onBreak.changedAt);
  });

  it('takes the status offline at sign-out', async () => {
    const { url } = await serve();
    const { core, userId } = await signIn(url, 'agent');
    await waitFor(async () => (await core.value('agent:status', undefined))?.confirmed, Boolean, 'the sign-in status confirmed');
    await core.value('session:logout', undefined);
    expect(await presenceOf(userId)).toMatchObject({ status: 'offline' });
  });
});
