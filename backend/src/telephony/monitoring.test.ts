import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveCallsResponse, MONITORING_API, MonitorSessionView, monitorSessionPath } from '../../../shared/monitoring.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { insertConnectedCall } from './fixtures.js';
import { telephonyDb } from './schema.js';

describe.each(DIALECTS)('live monitoring on %s', (dialect) => {
  let backend: TestBackend;
  const tokens = { agent: '', osaka: '', supervisor: '', admin: '', otherSupervisor: '' };

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tokens.agent = await backend.login('agent');
    tokens.osaka = await backend.login('osaka');
    tokens.supervisor = await backend.login('supervisor');
    tokens.admin = await backend.login('admin');
  });
  afterAll(() => backend?.dispose());

  /** A connected call leg of `agentId` with `customerId`, as the app's call events leave it. */
  async function connectedCall(agentId: string, customerId: string | null): Promise<string> {
    return (await insertConnectedCall(backend.handle.db, backend.demo.tenant.id, { agentId, customerId })).id;
  }

  async function endCall(id: string): Promise<void> {
    await telephonyDb(backend.handle.db).updateTable('calls').set({ status: 'ended', ended_at: new Date().toISOString() }).where('id', '=', id).execute();
  }

  async function auditOf(sessionOrCall: string) {
    return backend.handle.db
      .selectFrom('audit_events')
      .select(['action', 'user_id', 'customer_id', 'details'])
      .where('tenant_id', '=', backend.demo.tenant.id)
      .where('details', 'like', `%${sessionOrCall}%`)
      .orderBy('id')
      .execute();
  }

  it('lets a supervisor start, switch and stop monitoring, audited at every step, and the operator check the session', async () => {
    const { agent, supervisor } = backend.demo.users;
    const callId = await connectedCall(agent.id, backend.demo.customers.yamada.id);
    const started = await backend.send('POST', MONITORING_API.sessions, { callId, mode: 'listen' }, tokens.supervisor);
    expect(started.statusCode, started.body).toBe(201);
    const session = MonitorSessionView.parse(started.json());
    expect(session).toMatchObject({ callId, mode: 'listen', active: true, supervisorId: supervisor.id, agentId: agent.id, visibleToOperator: true });

    // The operator's app checks the INVITE's session id: theirs, so it may answer.
    const checked = await backend.get(monitorSessionPath(session.id), tokens.agent);
    expect(checked.statusCode).toBe(200);
    expect(MonitorSessionView.parse(checked.json()).supervisorSipUser).toBe(session.supervisorSipUser);
    // Another operator may not use (or learn about) it.
    expect((await backend.get(monitorSessionPath(session.id), tokens.osaka)).statusCode).toBe(403);

    const live = LiveCallsResponse.parse((await backend.get(MONITORING_API.live, tokens.supervisor)).json());
    expect(live.calls.find((call) => call.callId === callId)?.monitor?.id).toBe(session.id);

    for (const mode of ['whisper', 'barge', 'listen'] as const) {
      const switched = await backend.send('PATCH', monitorSessionPath(session.id), { mode }, tokens.supervisor);
      expect(switched.statusCode, switched.body).toBe(200);
      expect(MonitorSessionView.parse(switched.json()).mode).toBe(mode);
    }
    // Only the supervisor switches; the operator cannot turn a listen into a barge.
    expect((await backend.send('PATCH', monitorSessionPath(session.id), { mode: 'barge' }, tokens.agent)).statusCode).toBe(403);
    expect((await backend.send('PATCH', monitorSessionPath(session.id), { mode: 'shout' }, tokens.supervisor)).json().error.message).toMatch(/mode/);

    const stopped = await backend.send('POST', monitorSessionPath(session.id, true), { reason: 'stopped' }, tokens.supervisor);
    expect(MonitorSessionView.parse(stopped.json())).toMatchObject({ active: false, endReason: 'stopped' });
    expect((await backend.send('PATCH', monitorSessionPath(session.id), { mode: 'barge' }, tokens.supervisor)).statusCode).toBe(409);

    const audit = await auditOf(session.id);
    expect(audit.map((event) => event.action)).toEqual(['monitor_started', 'monitor_mode_changed', 'monitor_mode_changed', 'monitor_mode_changed', 'monitor_stopped']);
    expect(audit.every((event) => event.user_id === supervisor.id && event.customer_id === backend.demo.customers.yamada.id)).toBe(true);
    expect(JSON.parse(audit[1]!.details)).toMatchObject({ from: 'listen', to: 'whisper' });
  });

  it('refuses agents, calls of customers the supervisor may not see, calls that are not connected, and other tenants', async () => {
    const { agent, osakaAgent } = backend.demo.users;
    const callId = await connectedCall(agent.id, backend.demo.customers.yamada.id);
    expect((await backend.send('POST', MONITORING_API.sessions, { callId, mode: 'listen' }, tokens.osaka)).statusCode).toBe(403);
    expect((await backend.get(MONITORING_API.live, tokens.agent)).statusCode).toBe(403);

    // A supervisor limited to class-3 customers may not listen to a call with a class-1 customer.
    const { createUser } = await import('../testing/fixtures.js');
    await createUser(
      backend.handle,
      backend.demo.tenant.id,
      { login: 'junior-sv', displayName: '若手 監督', role: 'supervisor', customerLimitAuthority: 3, password: backend.demo.password },
      backend.config.argon2,
    );
    tokens.otherSupervisor = await backend.login('junior-sv');
    const secret = await connectedCall(osakaAgent.id, backend.demo.customers.acme.id);
    const refused = await backend.send('POST', MONITORING_API.sessions, { callId: secret, mode: 'listen' }, tokens.otherSupervisor);
    expect(refused.statusCode).toBe(403);
    const live = LiveCallsResponse.parse((await backend.get(MONITORING_API.live, tokens.otherSupervisor)).json());
    expect(live.calls.find((call) => call.callId === secret)).toMatchObject({ customerId: null, customerName: null, remote: '' });

    await endCall(callId);
    expect((await backend.send('POST', MONITORING_API.sessions, { callId, mode: 'listen' }, tokens.supervisor)).statusCode).toBe(409);
    expect((await backend.send('POST', MONITORING_API.sessions, { callId: 'no-such-call', mode: 'listen' }, tokens.supervisor)).statusCode).toBe(404);
    expect((await backend.send('POST', MONITORING_API.sessions, { mode: 'listen' }, tokens.supervisor)).json().error.message).toMatch(/callId/);
    expect(await auditOf(secret)).toEqual([]);
  });

  it("records an operator's help request, shows it with the call, and clears it when a supervisor joins or the call ends", async () => {
    const { agent } = backend.demo.users;
    const callId = await connectedCall(agent.id, backend.demo.customers.yamada.id);
    expect((await backend.send('POST', MONITORING_API.help, { callId }, tokens.osaka)).statusCode).toBe(403);
    const asked = await backend.send('POST', MONITORING_API.help, { callId }, tokens.agent);
    expect(asked.statusCode, asked.body).toBe(201);
    // Asking twice is one request.
    expect((await backend.send('POST', MONITORING_API.help, { callId }, tokens.agent)).json().id).toBe(asked.json().id);
    const liveCall = async () => LiveCallsResponse.parse((await backend.get(MONITORING_API.live, tokens.supervisor)).json()).calls.find((call) => call.callId === callId);
    expect(await liveCall()).toMatchObject({ helpRequestedAt: asked.json().requestedAt, customerName: '山田 太郎', agentName: agent.displayName });
    expect((await auditOf(callId)).map((event) => event.action)).toEqual(['help_requested']);

    const joined = MonitorSessionView.parse((await backend.send('POST', MONITORING_API.sessions, { callId, mode: 'whisper' }, tokens.supervisor)).json());
    expect((await liveCall())?.helpRequestedAt).toBeNull();

    // The operator's app ends the session when the supervisor's side went silent.
    const lost = await backend.send('POST', monitorSessionPath(joined.id, true), { reason: 'supervisor_lost' }, tokens.agent);
    expect(MonitorSessionView.parse(lost.json()).endReason).toBe('supervisor_lost');
    expect(JSON.parse((await auditOf(joined.id)).at(-1)!.details)).toMatchObject({ reason: 'supervisor_lost', by: 'operator' });

    const again = await connectedCall(agent.id, null);
    await backend.send('POST', MONITORING_API.help, { callId: again }, tokens.agent);
    await endCall(again);
    expect(LiveCallsResponse.parse((await backend.get(MONITORING_API.live, tokens.supervisor)).json()).calls.find((call) => call.callId === again)).toBeUndefined();
  });

  it('keeps the tenant setting of whether the operator sees the supervisor listening', async () => {
    expect((await backend.send('PATCH', '/api/monitoring/settings', { visibleToOperator: false }, tokens.supervisor)).statusCode).toBe(403);
    expect((await backend.send('PATCH', '/api/monitoring/settings', { visibleToOperator: false }, tokens.admin)).statusCode).toBe(200);
    const callId = await connectedCall(backend.demo.users.agent.id, null);
    const session = MonitorSessionView.parse((await backend.send('POST', MONITORING_API.sessions, { callId, mode: 'listen' }, tokens.supervisor)).json());
    expect(session.visibleToOperator).toBe(false);
    await backend.send('PATCH', '/api/monitoring/settings', { visibleToOperator: true }, tokens.admin);
  });
});
