import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMailConfig } from '../mail/config.js';
import { dispatchLoad } from '../mail/dispatch.js';
import { mailDb } from '../mail/schema.js';
import { writeTransaction } from '../sync/changelog.js';
import { createTenant, createUser } from '../testing/fixtures.js';
import { DIALECTS } from '../testing/harness.js';
import { recordCallReport, ringingCallVolume, STALE_RINGING_SECONDS, type CallReport } from './calls.js';
import { TELEPHONY_API } from './routes.js';
import { telephonyDb } from './schema.js';
import { startTelephonyBackend, type TelephonyBackend } from './test-support.js';

describe.each(DIALECTS)('call volume that pauses mail, on %s', (dialect) => {
  let t: TelephonyBackend;
  let agentToken: string;
  beforeAll(async () => {
    t = await startTelephonyBackend(dialect);
    agentToken = await t.backend.login('agent');
  });
  afterAll(() => t?.dispose());

  const ring = (callId: string) =>
    t.call('POST', TELEPHONY_API.callEvents, {
      token: agentToken,
      body: { callId, event: 'ringing', direction: 'inbound', remote: '+81312345678', customerId: null, at: new Date().toISOString() },
    });
  const volume = (tenantId = t.backend.demo.tenant.id) => ringingCallVolume(t.backend.handle.db, tenantId, new Date().toISOString());

  it("counts one agent's many fake ringing events as one ringing phone", async () => {
    for (const n of [1, 2, 3, 4, 5]) expect((await ring(`fake-${n}@test`)).statusCode).toBe(204);
    expect(await volume()).toBe(1);
  });

  it('stops counting a ringing leg nobody closed once it is stale, whatever time the reporter claimed', async () => {
    const staleAt = new Date(Date.now() - (STALE_RINGING_SECONDS + 1) * 1000).toISOString();
    await telephonyDb(t.backend.handle.db).updateTable('calls').set({ updated_at: staleAt }).where('tenant_id', '=', t.backend.demo.tenant.id).execute();
    expect(await volume()).toBe(0);
    const load = await dispatchLoad(mailDb(t.backend.handle.db), t.backend.demo.tenant.id, new Date().toISOString(), loadMailConfig({}));
    expect(load).toMatchObject({ ringing: 0, paused: false });
    // A report claiming a time far ahead does not keep a leg alive: the server's clock decides.
    const future = await t.call('POST', TELEPHONY_API.callEvents, {
      token: agentToken,
      body: { callId: 'future@test', event: 'ringing', direction: 'inbound', remote: '+81312345678', customerId: null, at: '2099-01-01T00:00:00.000Z' },
    });
    expect(future.statusCode).toBe(204);
    await telephonyDb(t.backend.handle.db).updateTable('calls').set({ updated_at: staleAt }).where('external_id', '=', 'future@test').execute();
    expect(await volume()).toBe(0);
  });

  it("prefers the PBX's reports where the PBX reports: an agent's own ringing then adds nothing", async () => {
    const tenant = await createTenant(t.backend.handle, { slug: 'pbx-tenant', name: 'PBX Tenant' });
    const agent = await createUser(t.backend.handle, tenant.id, { login: 'pbx-agent', password: t.backend.demo.password }, t.backend.config.argon2);
    const report = (callId: string, source: CallReport['source'], agentId: string | null): CallReport => ({
      tenantId: tenant.id,
      agentId,
      callId,
      event: 'ringing',
      direction: 'inbound',
      remote: '+81312345678',
      local: 'agent',
      customerId: null,
      at: new Date().toISOString(),
      source,
    });
    await writeTransaction(t.backend.handle, (tx) => recordCallReport(tx, report('app-only@test', 'app', agent.id)));
    expect(await volume(tenant.id)).toBe(1);
    await writeTransaction(t.backend.handle, (tx) => recordCallReport(tx, report('pbx-1@test', 'pbx', null)));
    await writeTransaction(t.backend.handle, (tx) => recordCallReport(tx, report('pbx-2@test', 'pbx', null)));
    await writeTransaction(t.backend.handle, (tx) => recordCallReport(tx, report('app-extra@test', 'app', agent.id)));
    expect(await volume(tenant.id)).toBe(2);
  });
});
