import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { API, ChangesPage } from '../../../shared/api.js';
import type { CallEventInput } from '../../../shared/ipc.js';
import { createCustomerRecord, createDemoTenant, type DemoTenant, type FixtureCustomer } from '../testing/fixtures.js';
import { mailDb } from '../mail/schema.js';
import { DIALECTS } from '../testing/harness.js';
import type { CtiEventResponse, CtiRouteResponse } from './cti.js';
import { CALL_LOG_INCIDENT_TITLE } from './cti.js';
import { TELEPHONY_API } from './routes.js';
import { telephonyDb } from './schema.js';
import { errorMessage, startTelephonyBackend, type TelephonyBackend } from './test-support.js';

describe.each(DIALECTS)('CTI for the PBX on %s', (dialect) => {
  let t: TelephonyBackend;
  let other: DemoTenant;
  /** 03-1111-2222: assigned to `rep`, last handled by `handler`. */
  let customer: FixtureCustomer;
  let agents: Record<'handler' | 'rep' | 'spare' | 'unreg' | 'otherAgent', { user: { id: string }; token: string }>;

  beforeAll(async () => {
    t = await startTelephonyBackend(dialect);
    const { backend } = t;
    other = await createDemoTenant(backend.handle, backend.config.argon2, { slug: 'other', name: 'Other Center' });
    agents = {
      handler: await t.addAgent({ login: 'handler' }),
      rep: await t.addAgent({ login: 'rep', sipUser: '2001' }),
      spare: await t.addAgent({ login: 'spare' }),
      unreg: await t.addAgent({ login: 'unreg', mayHandleUnregisteredCallers: true }),
      otherAgent: await t.addAgent({ login: 'other-agent', tenantId: other.tenant.id, tenantSlug: 'other' }),
    };
    customer = await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: 'CTI-1',
      name: '電話 太郎',
      phones: [{ e164: '+81311112222', kind: 'landline' }],
      assignedRepId: agents.rep.user.id,
      incidents: [
        {
          title: '問い合わせ',
          contacts: [
            { kind: 'call', direction: 'inbound', agentId: agents.spare.user.id, occurredAt: '2026-01-01T00:00:00.000Z', summary: '古い通話' },
            { kind: 'call', direction: 'inbound', agentId: agents.handler.user.id, occurredAt: '2026-02-01T00:00:00.000Z', summary: '最近の通話' },
            { kind: 'note', direction: 'internal', agentId: agents.spare.user.id, occurredAt: '2026-03-01T00:00:00.000Z', summary: 'メモ' },
          ],
        },
      ],
    });
    // The other tenant has a customer with the same number and an available agent: neither may leak.
    await createCustomerRecord(backend.handle, other.tenant.id, { code: 'CTI-1', name: '別テナント', phones: [{ e164: '+81311112222', kind: 'landline' }] });
    await t.setStatus(agents.otherAgent.token, 'available');
  });
  afterAll(() => t?.dispose());

  beforeEach(async () => {
    // Nobody of the demo tenant is in the app unless a test says so.
    await mailDb(t.backend.handle.db).deleteFrom('agent_presence').where('tenant_id', '=', t.backend.demo.tenant.id).execute();
  });

  const cti = (token = t.ctiToken) => ({ cti: token });
  const route = async (query: Record<string, string>): Promise<CtiRouteResponse> => {
    const response = await t.call('GET', `${TELEPHONY_API.ctiRoute}?${new URLSearchParams({ tenant: 'demo', ...query })}`, cti());
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as CtiRouteResponse;
  };
  const report = async (body: Record<string, unknown>): Promise<CtiEventResponse> => {
    const response = await t.call('POST', TELEPHONY_API.ctiEvents, { ...cti(), body: { tenant: 'demo', ...body } });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as CtiEventResponse;
  };

  describe('access', () => {
    it('takes the CTI token and nothing else', async () => {
      const url = `${TELEPHONY_API.ctiRoute}?tenant=demo&caller=0311112222`;
      expect((await t.call('GET', url)).statusCode).toBe(401);
      expect((await t.call('GET', url, cti(`${t.ctiToken}x`))).statusCode).toBe(401);
      const userToken = await t.backend.login('admin');
      expect((await t.call('GET', url, { token: userToken })).statusCode).toBe(401);
      expect((await t.call('GET', url, cti())).statusCode).toBe(200);
    });

    it('lets a PBX act only for the tenants it serves, whether the others exist or not', async () => {
      const own = await t.call('GET', `${TELEPHONY_API.ctiRoute}?tenant=other&caller=0311112222`, cti(t.otherPbxToken));
      expect(own.statusCode, own.body).toBe(200);
      for (const tenant of ['demo', 'no-such-tenant']) {
        const routeAttempt = await t.call('GET', `${TELEPHONY_API.ctiRoute}?tenant=${tenant}&caller=0311112222`, cti(t.otherPbxToken));
        expect(routeAttempt.statusCode, tenant).toBe(403);
        expect(errorMessage(routeAttempt)).toBe('tenant: the PBX "other-pbx" does not serve this tenant');
        const eventAttempt = await t.call('POST', TELEPHONY_API.ctiEvents, {
          ...cti(t.otherPbxToken),
          body: { tenant, callId: `foreign-${tenant}`, event: 'missed', caller: '0311112222', called: '2001', agent: '2001' },
        });
        expect(eventAttempt.statusCode, tenant).toBe(403);
      }
      // Nothing of the refused event reached the demo tenant.
      const logged = await t.backend.handle.db.selectFrom('audit_events').select('id').where('details', 'like', '%foreign-demo%').execute();
      expect(logged).toEqual([]);
    });

    it('answers 503 with the reason when no CTI token is configured', async () => {
      const response = await t.backend.app.inject({ method: 'GET', url: `${TELEPHONY_API.ctiRoute}?tenant=demo`, headers: { authorization: 'Bearer whatever-it-is' } });
      expect(response.statusCode).toBe(503);
      expect(errorMessage(response)).toContain('TSUNAGU_CTI_PBXES');
    });

    it('refuses bad input naming the field', async () => {
      const noTenant = await t.call('GET', `${TELEPHONY_API.ctiRoute}?caller=0311112222`, cti());
      expect(noTenant.statusCode).toBe(400);
      expect(errorMessage(noTenant)).toContain('query.tenant');
      // A tenant the PBX does not serve is refused before anyone looks it up (see the PBX binding test).
      expect((await t.call('GET', `${TELEPHONY_API.ctiRoute}?tenant=nope`, cti())).statusCode).toBe(403);
      const badEvent = await t.call('POST', TELEPHONY_API.ctiEvents, { ...cti(), body: { tenant: 'demo', callId: 'x', event: 'exploded', caller: '', called: '' } });
      expect(errorMessage(badEvent)).toContain('body.event');
      const badAgent = await t.call('POST', TELEPHONY_API.ctiEvents, {
        ...cti(),
        body: { tenant: 'demo', callId: 'x', event: 'ringing', caller: '', called: '', agent: 'rep\r\nX-Evil: 1' },
      });
      expect(errorMessage(badAgent)).toContain('body.agent');
    });
  });

  describe('routing', () => {
    it('prefers the last handler, then the assigned rep, then the agent waiting longest, and audits each decision', async () => {
      await t.setStatus(agents.spare.token, 'available');
      await t.setStatus(agents.rep.token, 'available');
      await t.setStatus(agents.handler.token, 'available');
      expect(await route({ caller: '03-1111-2222', called: '0120000000', callId: 'route-1' })).toEqual({
        customerId: customer.id,
        agent: { userId: agents.handler.user.id, login: 'handler', sipUser: 'handler.demo', displayName: '担当 handler' },
        reason: 'last_handler',
        action: 'ring',
        targets: [
          { userId: agents.handler.user.id, sipUser: 'handler.demo', reason: 'last_handler' },
          { userId: agents.rep.user.id, sipUser: '2001', reason: 'assigned_rep' },
          { userId: agents.spare.user.id, sipUser: 'spare.demo', reason: 'available_agent' },
        ],
        ringSeconds: 15,
        queue: null,
      });

      await t.setStatus(agents.handler.token, 'on_call');
      expect(await route({ caller: '0311112222' })).toMatchObject({
        agent: { userId: agents.rep.user.id, sipUser: '2001' },
        reason: 'assigned_rep',
        targets: [{ userId: agents.rep.user.id, reason: 'assigned_rep' }, { userId: agents.spare.user.id, reason: 'available_agent' }],
      });

      await t.setStatus(agents.rep.token, 'break');
      expect(await route({ caller: '+81311112222' })).toMatchObject({
        agent: { userId: agents.spare.user.id },
        reason: 'available_agent',
        targets: [{ userId: agents.spare.user.id, reason: 'available_agent' }],
      });

      // Nobody free, and no Call-ID to hold the caller by: the PBX is told to queue, nothing is entered.
      await t.setStatus(agents.spare.token, 'after_call_work');
      expect(await route({ caller: '0311112222' })).toEqual({
        customerId: customer.id,
        agent: null,
        reason: 'none',
        action: 'queue',
        targets: [],
        ringSeconds: 15,
        queue: null,
      });

      const audit = await t.backend.handle.db
        .selectFrom('audit_events')
        .select(['user_id', 'customer_id', 'details'])
        .where('tenant_id', '=', t.backend.demo.tenant.id)
        .where('action', '=', 'call_routed')
        .orderBy('id')
        .execute();
      expect(audit.slice(-4).map((row) => [row.user_id, row.customer_id, (JSON.parse(row.details) as { reason: string }).reason])).toEqual([
        [agents.handler.user.id, customer.id, 'last_handler'],
        [agents.rep.user.id, customer.id, 'assigned_rep'],
        [agents.spare.user.id, customer.id, 'available_agent'],
        [null, customer.id, 'none'],
      ]);
      expect(JSON.parse(audit.at(-4)!.details)).toMatchObject({
        pbx: 'main-pbx',
        caller: '03-1111-2222',
        called: '0120000000',
        callId: 'route-1',
        action: 'ring',
        targets: [
          { userId: agents.handler.user.id, reason: 'last_handler' },
          { userId: agents.rep.user.id, reason: 'assigned_rep' },
          { userId: agents.spare.user.id, reason: 'available_agent' },
        ],
      });
      expect(JSON.parse(audit.at(-1)!.details)).toMatchObject({ action: 'queue', targets: [] });
    });

    it('skips agents whose heartbeat stopped, and agents who may not see the customer', async () => {
      await t.setStatus(agents.handler.token, 'available');
      await mailDb(t.backend.handle.db)
        .updateTable('agent_presence')
        .set({ last_seen_at: '2020-01-01T00:00:00.000Z' })
        .where('user_id', '=', agents.handler.user.id)
        .execute();
      expect(await route({ caller: '0311112222' })).toMatchObject({ agent: null, reason: 'none' });

      // Acme is class 1: agents of authority 3 may not see it, the supervisor may.
      await t.setStatus(agents.spare.token, 'available');
      expect(await route({ caller: '03-5555-0000' })).toMatchObject({ customerId: t.backend.demo.customers.acme.id, agent: null });
      await t.setStatus(await t.backend.login('supervisor'), 'available');
      expect(await route({ caller: '03-5555-0000' })).toMatchObject({ agent: { login: 'supervisor' }, reason: 'available_agent' });
    });

    it('sends an unknown caller preferably to an agent who may handle unregistered callers', async () => {
      await t.setStatus(agents.spare.token, 'available');
      await t.setStatus(agents.unreg.token, 'available');
      expect(await route({ caller: '0299998888' })).toMatchObject({
        customerId: null,
        agent: { userId: agents.unreg.user.id },
        reason: 'available_agent',
        targets: [{ userId: agents.unreg.user.id }, { userId: agents.spare.user.id }],
      });
      expect(await route({ caller: 'anonymous' })).toMatchObject({ customerId: null, agent: { userId: agents.unreg.user.id } });
    });

    it('lets the IVR customer id win over the number, within the tenant only', async () => {
      await t.setStatus(agents.spare.token, 'available');
      const yamada = t.backend.demo.customers.yamada.id;
      expect(await route({ caller: '0311112222', customerId: yamada })).toMatchObject({ customerId: yamada });
      // Another tenant's customer id is no customer here: the number decides.
      expect(await route({ caller: '0311112222', customerId: other.customers.yamada.id })).toMatchObject({ customerId: customer.id });
    });

    it('never routes to another tenant\'s agents', async () => {
      const routed = await route({ caller: '0311112222' });
      expect(routed.agent).toBeNull();
      const theirs = await t.call('GET', `${TELEPHONY_API.ctiRoute}?tenant=other&caller=0311112222`, cti());
      const answer = theirs.json() as CtiRouteResponse;
      expect(answer.agent?.userId).toBe(agents.otherAgent.user.id);
      expect(answer.customerId).not.toBe(customer.id);
    });
  });

  describe('call events', () => {
    const contactsOf = (customerId: string) =>
      t.backend.handle.db
        .selectFrom('contacts as c')
        .innerJoin('incidents as i', 'i.id', 'c.incident_id')
        .select(['c.id', 'c.kind', 'c.direction', 'c.agent_id', 'c.summary', 'c.call_meta', 'i.title'])
        .where('c.customer_id', '=', customerId)
        .where('i.title', '=', CALL_LOG_INCIDENT_TITLE)
        .orderBy('c.occurred_at')
        .execute();

    it('logs a call to a rep outside the app in the customer\'s history, through the change log', async () => {
      const supervisor = await t.backend.login('supervisor');
      const cursor = (await t.backend.get(`${API.syncChanges}?after=0&limit=5000`, supervisor)).json() as { cursor: number };
      const call = { callId: 'pbx-call-1', caller: '0311112222', called: '2001', agent: '2001' };
      expect(await report({ ...call, event: 'ringing', at: '2026-04-01T01:00:00.000Z' })).toMatchObject({
        agentId: agents.rep.user.id,
        customerId: customer.id,
        status: 'ringing',
        callLogContactId: null,
      });
      await report({ ...call, event: 'answered', at: '2026-04-01T01:00:10.000Z' });
      const ended = await report({ ...call, event: 'ended', at: '2026-04-01T01:02:15.000Z' });
      expect(ended).toMatchObject({ status: 'ended', callLogContactId: expect.any(String) as unknown });
      // The PBX reporting the end again changes nothing.
      expect((await report({ ...call, event: 'ended', at: '2026-04-01T01:02:16.000Z' })).callLogContactId).toBe(ended.callLogContactId);

      const logged = await contactsOf(customer.id);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ id: ended.callLogContactId, kind: 'call', direction: 'inbound', agent_id: agents.rep.user.id });
      expect(logged[0]!.summary).toContain('2分5秒');
      expect(JSON.parse(logged[0]!.call_meta!)).toEqual({
        callId: 'pbx-call-1',
        from: '+81311112222',
        to: '2001',
        startedAt: '2026-04-01T01:00:00.000Z',
        answeredAt: '2026-04-01T01:00:10.000Z',
        endedAt: '2026-04-01T01:02:15.000Z',
        durationSeconds: 125,
      });

      const changes = ChangesPage.parse((await t.backend.get(`${API.syncChanges}?after=${cursor.cursor}`, supervisor)).json()).changes;
      expect(changes.some((change) => change.op === 'upsert_contact' && change.contact.id === ended.callLogContactId)).toBe(true);

      const audit = await t.backend.handle.db
        .selectFrom('audit_events')
        .select(['action', 'customer_id', 'user_id'])
        .where('tenant_id', '=', t.backend.demo.tenant.id)
        .where('details', 'like', '%pbx-call-1%')
        .orderBy('id')
        .execute();
      expect(audit).toEqual(
        ['call_ringing', 'call_answered', 'call_ended'].map((action) => ({ action, customer_id: customer.id, user_id: agents.rep.user.id })),
      );
    });

    it('logs a missed call in the same call-log incident, and nothing for an unknown number', async () => {
      const missed = await report({ callId: 'pbx-call-2', event: 'missed', caller: '+81311112222', called: '2001', agent: '2001' });
      expect(missed.callLogContactId).not.toBeNull();
      const logged = await contactsOf(customer.id);
      expect(logged.map((row) => row.summary)).toContain('不在着信（PBX記録）');
      const incidents = await t.backend.handle.db
        .selectFrom('incidents')
        .select('id')
        .where('customer_id', '=', customer.id)
        .where('title', '=', CALL_LOG_INCIDENT_TITLE)
        .execute();
      expect(incidents).toHaveLength(1);

      const unknown = await report({ callId: 'pbx-call-3', event: 'missed', caller: '0299990000', called: '2001', agent: '2001' });
      expect(unknown).toMatchObject({ customerId: null, callLogContactId: null });
    });

    it('leaves a call the agent\'s app reported to the app\'s wrap-up', async () => {
      const event: Omit<CallEventInput, 'event'> = { callId: 'app-and-pbx', direction: 'inbound', remote: '+81311112222', customerId: customer.id, at: new Date().toISOString() };
      await t.call('POST', TELEPHONY_API.callEvents, { token: agents.spare.token, body: { ...event, event: 'ringing' } });
      await report({ callId: 'app-and-pbx', event: 'ringing', caller: '0311112222', called: 'spare.demo', agent: 'spare.demo' });
      await t.call('POST', TELEPHONY_API.callEvents, { token: agents.spare.token, body: { ...event, event: 'answered' } });
      const ended = await report({ callId: 'app-and-pbx', event: 'ended', caller: '0311112222', called: 'spare.demo', agent: 'spare.demo' });
      expect(ended).toMatchObject({ agentId: agents.spare.user.id, status: 'ended', callLogContactId: null });
      const audited = await t.backend.handle.db
        .selectFrom('audit_events')
        .select('action')
        .where('details', 'like', '%app-and-pbx%')
        .orderBy('id')
        .execute();
      expect(audited.map((row) => row.action)).toEqual(['call_ringing', 'call_answered', 'call_ended']);
    });

    it('audits each target tried once, however often the PBX reports it', async () => {
      const call = { callId: 'serial-1', caller: '0311112222', called: '0120000000' };
      await report({ ...call, event: 'ringing', agent: 'handler.demo', at: '2026-05-01T01:00:00.000Z' });
      await report({ ...call, event: 'ringing', agent: 'handler.demo', at: '2026-05-01T01:00:00.000Z' });
      await report({ ...call, event: 'missed', agent: 'handler.demo', at: '2026-05-01T01:00:15.000Z' });
      await report({ ...call, event: 'missed', agent: 'handler.demo', at: '2026-05-01T01:00:15.000Z' });
      await report({ ...call, event: 'ringing', agent: '2001', at: '2026-05-01T01:00:15.100Z' });
      await report({ ...call, event: 'answered', agent: '2001', at: '2026-05-01T01:00:20.000Z' });
      await report({ ...call, event: 'ended', agent: '2001', at: '2026-05-01T01:01:20.000Z' });
      await report({ ...call, event: 'answered', agent: '2001', at: '2026-05-01T01:00:20.000Z' });
      const audit = await t.backend.handle.db
        .selectFrom('audit_events')
        .select(['action', 'user_id'])
        .where('details', 'like', '%"callId":"serial-1"%')
        .orderBy('id')
        .execute();
      expect(audit.map((row) => [row.action, row.user_id])).toEqual([
        ['call_ringing', agents.handler.user.id],
        ['call_missed', agents.handler.user.id],
        ['call_ringing', agents.rep.user.id],
        ['call_answered', agents.rep.user.id],
        ['call_ended', agents.rep.user.id],
      ]);
    });

    it('takes events out of order by their time, and corrects the call log when a late one changes it', async () => {
      const call = { callId: 'late-1', caller: '0311112222', called: '2001', agent: '2001' };
      const ended = await report({ ...call, event: 'ended', at: '2026-05-02T01:02:00.000Z' });
      expect(ended.status).toBe('ended');
      const [before] = await contactsOf(customer.id).then((rows) => rows.filter((row) => row.id === ended.callLogContactId));
      expect(before!.summary).toBe('不在着信（PBX記録）');
      await report({ ...call, event: 'answered', at: '2026-05-02T01:00:30.000Z' });
      await report({ ...call, event: 'ringing', at: '2026-05-02T01:00:00.000Z' });
      // Status never moves back; the earliest time is the start.
      const leg = await telephonyDb(t.backend.handle.db).selectFrom('calls').selectAll().where('external_id', '=', 'late-1').executeTakeFirstOrThrow();
      expect(leg).toMatchObject({ status: 'ended', started_at: '2026-05-02T01:00:00.000Z', answered_at: '2026-05-02T01:00:30.000Z', ended_at: '2026-05-02T01:02:00.000Z' });
      const [after] = await contactsOf(customer.id).then((rows) => rows.filter((row) => row.id === ended.callLogContactId));
      expect(after!.summary).toBe('通話 1分30秒（PBX記録）');
      expect(JSON.parse(after!.call_meta!)).toMatchObject({ startedAt: '2026-05-02T01:00:00.000Z', answeredAt: '2026-05-02T01:00:30.000Z', durationSeconds: 90 });
    });

    it('logs a call to a rep\'s plain SIP phone that the app never saw, matched by any of the customer\'s numbers written any way', async () => {
      const twoNumbers = await createCustomerRecord(t.backend.handle, t.backend.demo.tenant.id, {
        code: 'CTI-2',
        name: '番号 二つ',
        phones: [
          { e164: '+81355550101', kind: 'landline' },
          { e164: '+819012340101', kind: 'mobile' },
        ],
      });
      const written = ['03-5555-0101', '+81 3 5555 0101', '０３（５５５５）０１０１', '090-1234-0101', '+81 90 1234 0101', '09012340101'];
      for (const [index, caller] of written.entries()) {
        const logged = await report({ callId: `numbers-${index}`, event: 'missed', caller, called: '2001', agent: '2001' });
        expect(logged.customerId, caller).toBe(twoNumbers.id);
        expect(logged.callLogContactId, caller).not.toBeNull();
      }
      for (const unknown of ['03-5555-0102', 'anonymous', '', '+1 202 555 0101']) {
        expect((await report({ callId: `unknown-${unknown}`, event: 'missed', caller: unknown, called: '2001', agent: '2001' })).customerId, unknown).toBeNull();
      }
      expect(await contactsOf(twoNumbers.id)).toHaveLength(written.length);
    });

    it('matches numbers within the reporting tenant only', async () => {
      const response = await t.call('POST', TELEPHONY_API.ctiEvents, {
        ...cti(),
        body: { tenant: 'other', callId: 'other-1', event: 'missed', caller: '0311112222', called: 'x', agent: 'other-agent.other' },
      });
      const answer = response.json() as CtiEventResponse;
      expect(answer.agentId).toBe(agents.otherAgent.user.id);
      expect(answer.customerId).not.toBe(customer.id);
      expect(answer.customerId).not.toBeNull();
      // The demo tenant's rep is no agent of the other tenant.
      const stranger = await t.call('POST', TELEPHONY_API.ctiEvents, {
        ...cti(),
        body: { tenant: 'other', callId: 'other-2', event: 'ringing', caller: '0311112222', called: 'x', agent: '2001' },
      });
      expect((stranger.json() as CtiEventResponse).agentId).toBeNull();
      // A login is no SIP user: the other tenant's agent is not found by theirs.
      const byLogin = await t.call('POST', TELEPHONY_API.ctiEvents, {
        ...cti(),
        body: { tenant: 'other', callId: 'other-3', event: 'ringing', caller: '0311112222', called: 'x', agent: 'other-agent' },
      });
      expect((byLogin.json() as CtiEventResponse).agentId).toBeNull();
    });
  });
});
