import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MONITORING_API, OWN_HELP_API, OwnHelpState } from '../../../shared/monitoring.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { insertConnectedCall } from './fixtures.js';
import { telephonyDb } from './schema.js';

/** The operator's side of a help request, by the SIP Call-ID their app knows. */
describe.each(DIALECTS)('help on my own call on %s', (dialect) => {
  let backend: TestBackend;
  const tokens = { agent: '', osaka: '', supervisor: '' };

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tokens.agent = await backend.login('agent');
    tokens.osaka = await backend.login('osaka');
    tokens.supervisor = await backend.login('supervisor');
  });
  afterAll(() => backend?.dispose());

  const connectedCall = (agentId: string) =>
    insertConnectedCall(backend.handle.db, backend.demo.tenant.id, { agentId, customerId: backend.demo.customers.yamada.id, sipCallId: (id) => `sip-${id}@app` });

  const state = async (sipCallId: string, token: string) => {
    const response = await backend.get(`${OWN_HELP_API}?${new URLSearchParams({ sipCallId })}`, token);
    expect(response.statusCode, response.body).toBe(200);
    return OwnHelpState.parse(response.json()).state;
  };

  it('asks once, shows "requested" until a supervisor starts monitoring, and is audited', async () => {
    const call = await connectedCall(backend.demo.users.agent.id);
    expect(await state(call.sipCallId, tokens.agent)).toBe('none');
    const first = await backend.send('POST', OWN_HELP_API, { sipCallId: call.sipCallId }, tokens.agent);
    expect(first.statusCode, first.body).toBe(201);
    expect(OwnHelpState.parse(first.json()).state).toBe('requested');
    // Pressed twice: still one request, one audit event.
    expect((await backend.send('POST', OWN_HELP_API, { sipCallId: call.sipCallId }, tokens.agent)).statusCode).toBe(200);
    const live = await backend.get(MONITORING_API.live, tokens.supervisor);
    expect(live.json<{ calls: { callId: string; helpRequestedAt: string | null }[] }>().calls.find((c) => c.callId === call.id)?.helpRequestedAt).not.toBeNull();

    const started = await backend.send('POST', MONITORING_API.sessions, { callId: call.id, mode: 'listen' }, tokens.supervisor);
    expect(started.statusCode, started.body).toBe(201);
    expect(await state(call.sipCallId, tokens.agent)).toBe('joined');
    const audit = await backend.handle.db
      .selectFrom('audit_events')
      .select(['action', 'user_id'])
      .where('tenant_id', '=', backend.demo.tenant.id)
      .where('action', '=', 'help_requested')
      .where('details', 'like', `%${call.id}%`)
      .execute();
    expect(audit).toEqual([{ action: 'help_requested', user_id: backend.demo.users.agent.id }]);
  });

  it('shows "ended" once the call is over, and refuses a request then', async () => {
    const call = await connectedCall(backend.demo.users.agent.id);
    expect((await backend.send('POST', OWN_HELP_API, { sipCallId: call.sipCallId }, tokens.agent)).statusCode).toBe(201);
    await telephonyDb(backend.handle.db).updateTable('calls').set({ status: 'ended', ended_at: new Date().toISOString() }).where('id', '=', call.id).execute();
    expect(await state(call.sipCallId, tokens.agent)).toBe('ended');
    expect((await backend.send('POST', OWN_HELP_API, { sipCallId: call.sipCallId }, tokens.agent)).statusCode).toBe(409);
  });

  it("finds only the user's own call: another operator's Call-ID is 404, a bad body names the field", async () => {
    const call = await connectedCall(backend.demo.users.agent.id);
    expect((await backend.get(`${OWN_HELP_API}?sipCallId=${encodeURIComponent(call.sipCallId)}`, tokens.osaka)).statusCode).toBe(404);
    expect((await backend.send('POST', OWN_HELP_API, { sipCallId: call.sipCallId }, tokens.osaka)).statusCode).toBe(404);
    const bad = await backend.send('POST', OWN_HELP_API, { callId: 'x' }, tokens.agent);
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('sipCallId');
  });
});
