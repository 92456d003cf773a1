import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../backend/src/app.js';
import { createCustomerRecord, DEMO_PASSWORD } from '../../../backend/src/testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../../../backend/src/testing/harness.js';
import { listenOn, startTestCore, type TestCore } from '../testing/core-harness.js';

/**
 * Issue 8 item 2 / issue 13 item 5: an idle core notices that the backend went away from its
 * event stream, not at its next poll (an hour here, so only the stream can tell), and comes
 * back by itself when the backend returns.
 */
describe('losing the backend while idle', () => {
  let backend: TestBackend;
  const apps: FastifyInstance[] = [];
  let core: TestCore | undefined;

  beforeAll(async () => {
    backend = await startTestBackend('sqlite');
  });
  afterEach(async () => {
    await core?.dispose();
    for (const app of apps.splice(0)) await app.close();
  });
  afterAll(() => backend?.dispose());

  async function serve(port = 0): Promise<{ app: FastifyInstance; port: number }> {
    const app = buildApp({ db: backend.handle, config: backend.config });
    apps.push(app);
    return { app, port: await listenOn(app, port) };
  }

  it('says offline once the event stream breaks, and online again when the backend is back', async () => {
    const first = await serve();
    core = startTestCore({ backendUrl: `http://127.0.0.1:${first.port}` });
    await core.value('session:login', { tenant: 'demo', login: 'agent', password: DEMO_PASSWORD });
    await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');

    await first.app.close();
    const offline = await core.waitForStatus((s) => !s.online, 'offline without a poll or a request');
    expect(offline.phase).toBe('offline');

    await serve(first.port);
    await core.waitForStatus((s) => s.online && s.phase === 'idle', 'online again');
  });

  it('reconnects its event stream at once when a request succeeds again, not after its backoff', async () => {
    // Issue 13 item 5: retries an hour apart, so only the successful request can end the outage.
    const hour = { initialMs: 3_600_000, maxMs: 3_600_000 };
    const first = await serve();
    core = startTestCore({ backendUrl: `http://127.0.0.1:${first.port}`, syncTuning: { backoff: hour } });
    await core.value('session:login', { tenant: 'demo', login: 'agent', password: DEMO_PASSWORD });
    await core.waitForStatus((s) => s.phase === 'idle' && s.online, 'idle after the first sync');

    await first.app.close();
    await core.waitForStatus((s) => !s.online, 'offline');
    const again = backend.secondInstance();
    apps.push(again);
    await listenOn(again, first.port);

    // The status change reaches the backend (the core tries at once); that answer ends the wait.
    await core.value('agent:setStatus', { status: 'break' });
    await core.waitForStatus((s) => s.online && s.phase === 'idle', 'online again after the status change was answered');
    const before = (await core.value('sync:status', undefined)).cachedCustomers;
    await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: 'R-001',
      name: '再接続 確認',
      nameKana: 'サイセツゾク カクニン',
      phones: [{ e164: '+81298760001', kind: 'landline' }],
    });
    // Poll an hour, retry an hour: only a poke on the reopened event stream brings it.
    await core.waitForStatus((s) => s.cachedCustomers === before + 1 && s.phase === 'idle', 'with the new customer, by a poke');
  });
});
