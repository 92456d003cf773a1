import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAIL_API, SupervisorSummary } from '../../../shared/api.js';
import { RoutingRules } from '../../../shared/routing-rules.js';
import { mailDb } from '../mail/schema.js';
import { createCustomerRecord, createDemoTenant, type DemoTenant, type FixtureCustomer } from '../testing/fixtures.js';
import { DIALECTS } from '../testing/harness.js';
import type { CtiEventResponse, CtiQueueResponse, CtiRouteResponse } from './cti.js';
import { QUEUE_SILENCE_SECONDS } from './queue.js';
import { TELEPHONY_API } from './routes.js';
import { telephonyDb } from './schema.js';
import { errorMessage, startTelephonyBackend, type TelephonyBackend } from './test-support.js';

type Agent = { user: { id: string }; token: string };

describe.each(DIALECTS)('routing rules and the call queue on %s', (dialect) => {
  let t: TelephonyBackend;
  let other: DemoTenant;
  let agents: Record<'first' | 'second' | 'dealerDesk' | 'otherAgent', Agent>;
  let dealer: FixtureCustomer;
  let prospect: FixtureCustomer;
  let admin: string;

  beforeAll(async () => {
    t = await startTelephonyBackend(dialect);
    const { backend } = t;
    other = await createDemoTenant(backend.handle, backend.config.argon2, { slug: 'other', name: 'Other Center' });
    agents = {
      first: await t.addAgent({ login: 'first' }),
      second: await t.addAgent({ login: 'second' }),
      dealerDesk: await t.addAgent({ login: 'dealer-desk' }),
      otherAgent: await t.addAgent({ login: 'other-agent', tenantId: other.tenant.id, tenantSlug: 'other' }),
    };
    dealer = await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: 'DLR-1',
      name: '販売店 一号',
      type: 'dealer',
      phones: [{ e164: '+81366660001', kind: 'landline' }],
    });
    prospect = await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: 'PRS-1',
      name: '見込 客',
      type: 'prospect',
      phones: [{ e164: '+81366660002', kind: 'landline' }],
    });
    admin = await backend.login('admin');
  });
  afterAll(() => t?.dispose());

  beforeEach(async () => {
    const db = telephonyDb(t.backend.handle.db);
    await mailDb(t.backend.handle.db).deleteFrom('agent_presence').where('tenant_id', '=', t.backend.demo.tenant.id).execute();
    await db.deleteFrom('call_queue').execute();
    await db.deleteFrom('routing_rules').execute();
    await db.deleteFrom('routing_group_members').execute();
    await db.deleteFrom('routing_groups').execute();
  });

  const route = async (query: Record<string, string>, instance: 'first' | 'second' = 'first'): Promise<CtiRouteResponse> => {
    const url = `${TELEPHONY_API.ctiRoute}?${new URLSearchParams({ tenant: 'demo', ...query })}`;
    const response = await (instance === 'first' ? t.call : t.callSecond)('GET', url, { cti: t.ctiToken });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as CtiRouteResponse;
  };
  const poll = async (callId: string, instance: 'first' | 'second' = 'first') => {
    const url = `${TELEPHONY_API.ctiQueue}?${new URLSearchParams({ tenant: 'demo', callId })}`;
    return (instance === 'first' ? t.call : t.callSecond)('GET', url, { cti: t.ctiToken });
  };
  const standing = async (callId: string, instance: 'first' | 'second' = 'first'): Promise<CtiQueueResponse> => {
    const response = await poll(callId, instance);
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as CtiQueueResponse;
  };
  const report = async (body: Record<string, unknown>): Promise<CtiEventResponse> => {
    const response = await t.call('POST', TELEPHONY_API.ctiEvents, { cti: t.ctiToken, body: { tenant: 'demo', called: '0120000000', ...body } });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as CtiEventResponse;
  };
  const putRules = (body: unknown, token = admin) => t.call('PUT', TELEPHONY_API.routingRules, { token, body });

  describe('rules by customer type', () => {
    it('rings the rule\'s group first, then the default order, each agent once', async () => {
      const saved = await putRules({
        groups: [{ name: '代理店窓口', members: [agents.dealerDesk.user.id, agents.second.user.id] }],
        rules: [{ customerType: 'dealer', group: '代理店窓口' }],
      });
      expect(saved.statusCode, saved.body).toBe(200);
      await t.setStatus(agents.first.token, 'available');
      await t.setStatus(agents.second.token, 'available');
      await t.setStatus(agents.dealerDesk.token, 'available');

      // Group members longest idle first, then everyone else free.
      expect((await route({ caller: '03-6666-0001' })).targets).toEqual([
        { userId: agents.second.user.id, sipUser: 'second.demo', reason: 'customer_type_rule' },
        { userId: agents.dealerDesk.user.id, sipUser: 'dealer-desk.demo', reason: 'customer_type_rule' },
        { userId: agents.first.user.id, sipUser: 'first.demo', reason: 'available_agent' },
      ]);
      // A type without a rule takes the default order.
      expect((await route({ caller: '03-6666-0002' })).targets.map((target) => [target.userId, target.reason])).toEqual([
        [agents.first.user.id, 'available_agent'],
        [agents.second.user.id, 'available_agent'],
        [agents.dealerDesk.user.id, 'available_agent'],
      ]);
      // A group member who is not free is skipped; the rule still comes before the default order.
      await t.setStatus(agents.second.token, 'break');
      expect((await route({ caller: '0366660001' })).targets.map((target) => target.reason)).toEqual(['customer_type_rule', 'available_agent']);
    });

    it('puts the rule group before the last handler and the assigned rep', async () => {
      const customer = await createCustomerRecord(t.backend.handle, t.backend.demo.tenant.id, {
        code: 'DLR-2',
        name: '販売店 二号',
        type: 'dealer',
        phones: [{ e164: '+81366660003', kind: 'landline' }],
        assignedRepId: agents.second.user.id,
        incidents: [{ title: '前回', contacts: [{ kind: 'call', direction: 'inbound', agentId: agents.first.user.id, summary: '前回の通話' }] }],
      });
      await putRules({ groups: [{ name: 'dealers', members: [agents.dealerDesk.user.id] }], rules: [{ customerType: 'dealer', group: 'dealers' }] });
      await t.setStatus(agents.second.token, 'available');
      await t.setStatus(agents.first.token, 'available');
      await t.setStatus(agents.dealerDesk.token, 'available');
      const answer = await route({ caller: '0366660003' });
      expect(answer.customerId).toBe(customer.id);
      expect(answer.targets.map((target) => [target.userId, target.reason])).toEqual([
        [agents.dealerDesk.user.id, 'customer_type_rule'],
        [agents.first.user.id, 'last_handler'],
        [agents.second.user.id, 'assigned_rep'],
      ]);
    });
  });

  it('gives the tenant\'s ring time per target, as its admin set it', async () => {
    await t.setStatus(agents.first.token, 'available');
    expect((await route({ caller: '0366660002' })).ringSeconds).toBe(15);
    const set = await t.call('PUT', TELEPHONY_API.telephonySettings, { token: admin, body: { ringSeconds: 25 } });
    expect(set.statusCode, set.body).toBe(200);
    expect((await route({ caller: '0366660002' })).ringSeconds).toBe(25);
    const bad = await t.call('PUT', TELEPHONY_API.telephonySettings, { token: admin, body: { ringSeconds: 2 } });
    expect(errorMessage(bad)).toContain('body.ringSeconds');
    await t.call('PUT', TELEPHONY_API.telephonySettings, { token: admin, body: { ringSeconds: null } });
    expect((await route({ caller: '0366660002' })).ringSeconds).toBe(15);
  });

  describe('rules API', () => {
    it('lets admins read and replace the set, audited with before and after', async () => {
      const rules: RoutingRules = {
        groups: [
          { name: 'dealers', members: [agents.dealerDesk.user.id] },
          { name: 'sales', members: [agents.first.user.id, agents.second.user.id].sort() },
        ],
        rules: [
          { customerType: 'dealer', group: 'dealers' },
          { customerType: 'prospect', group: 'sales' },
        ],
      };
      expect((await putRules(rules)).json()).toEqual(rules);
      expect(RoutingRules.parse((await t.call('GET', TELEPHONY_API.routingRules, { token: admin })).json())).toEqual(rules);
      const cleared = await putRules({ groups: [], rules: [] });
      expect(cleared.json()).toEqual({ groups: [], rules: [] });

      const audit = await t.backend.handle.db
        .selectFrom('audit_events')
        .select(['user_id', 'details'])
        .where('tenant_id', '=', t.backend.demo.tenant.id)
        .where('action', '=', 'routing_rules_changed')
        .orderBy('id')
        .execute();
      expect(audit.slice(-2).map((row) => [row.user_id, JSON.parse(row.details) as unknown])).toEqual([
        [t.backend.demo.users.admin.id, { before: { groups: [], rules: [] }, after: rules }],
        [t.backend.demo.users.admin.id, { before: rules, after: { groups: [], rules: [] } }],
      ]);
      // The other tenant's set is its own.
      const otherAdmin = await t.backend.login('admin', { tenant: 'other' });
      expect((await t.call('GET', TELEPHONY_API.routingRules, { token: otherAdmin })).json()).toEqual({ groups: [], rules: [] });
    });

    it('is for admins only', async () => {
      for (const login of ['supervisor', 'agent']) {
        const token = await t.backend.login(login);
        expect((await t.call('GET', TELEPHONY_API.routingRules, { token })).statusCode, login).toBe(403);
        expect((await putRules({ groups: [], rules: [] }, token)).statusCode, login).toBe(403);
      }
      expect((await t.call('GET', TELEPHONY_API.routingRules)).statusCode).toBe(401);
    });

    it('refuses bad input naming the field, and stores nothing of it', async () => {
      const cases: [unknown, string][] = [
        [{ groups: [], rules: [{ customerType: 'vip', group: 'x' }] }, 'body.rules.0.customerType'],
        [{ groups: [{ name: 'a', members: [] }], rules: [{ customerType: 'new', group: 'b' }] }, 'body.rules.0.group: no group of this name'],
        [{ groups: [{ name: 'a', members: [] }, { name: 'a', members: [] }], rules: [] }, 'body.groups.1.name: group names must be unique'],
        [
          { groups: [{ name: 'a', members: [] }], rules: [{ customerType: 'new', group: 'a' }, { customerType: 'new', group: 'a' }] },
          'body.rules.1.customerType: one rule per customer type',
        ],
        [{ groups: [{ name: ' ', members: [] }], rules: [] }, 'body.groups.0.name'],
        [{ groups: [{ name: 'a', members: [agents.first.user.id, agents.first.user.id] }], rules: [] }, 'body.groups.0.members.1: listed twice'],
        [{ groups: [{ name: 'a', members: ['no-such-user'] }], rules: [] }, 'body.groups.0.members.0: no user of this tenant'],
        [{ groups: [{ name: 'a', members: [agents.first.user.id, agents.otherAgent.user.id] }], rules: [] }, 'body.groups.0.members.1: no user of this tenant'],
        [{ groups: [], rules: [], extra: 1 }, 'body'],
        [{ rules: [] }, 'body.groups'],
      ];
      for (const [body, field] of cases) {
        const response = await putRules(body);
        expect(response.statusCode, JSON.stringify(body)).toBe(400);
        expect(errorMessage(response)).toContain(field);
      }
      expect((await t.call('GET', TELEPHONY_API.routingRules, { token: admin })).json()).toEqual({ groups: [], rules: [] });
    });
  });

  describe('queue', () => {
    it('holds callers when nobody is free and offers them, oldest first, to agents as they become free', async () => {
      const q1 = await route({ caller: '0366660001', callId: 'q-1' });
      expect(q1).toEqual({ customerId: dealer.id, agent: null, reason: 'none', action: 'queue', targets: [], ringSeconds: 15, queue: { position: 1, waiting: 1 } });
      expect((await route({ caller: '0366660002', callId: 'q-2' })).queue).toEqual({ position: 2, waiting: 2 });
      expect(await standing('q-1')).toEqual({ ready: false, position: 1, waiting: 2 });

      // One agent free: only the first in line is ready, and a new caller joins the line.
      await t.setStatus(agents.first.token, 'available');
      expect(await standing('q-1')).toEqual({ ready: true, position: 1, waiting: 2 });
      expect(await standing('q-2')).toEqual({ ready: false, position: 2, waiting: 2 });
      expect((await route({ caller: '0299990000', callId: 'q-3' })).queue).toEqual({ position: 3, waiting: 3 });
      // Asking for q-2 before its turn keeps it waiting.
      expect(await route({ caller: '0366660002', callId: 'q-2' })).toMatchObject({ action: 'queue', queue: { position: 2, waiting: 3 } });

      const delivered = await route({ caller: '0366660001', callId: 'q-1' });
      expect(delivered).toMatchObject({
        customerId: dealer.id,
        action: 'ring',
        reason: 'queue',
        agent: { userId: agents.first.user.id },
        targets: [{ userId: agents.first.user.id, sipUser: 'first.demo', reason: 'queue' }],
        queue: null,
      });
      expect(await standing('q-1')).toEqual({ ready: true, position: 0, waiting: 2 });
      // The agent just handed q-1 is not offered to q-2 too: before the PBX reports the leg, nor while it rings.
      expect(await standing('q-2')).toEqual({ ready: false, position: 1, waiting: 2 });
      await report({ callId: 'q-1', event: 'ringing', caller: '0366660001', agent: 'first.demo' });
      expect((await standing('q-2')).ready).toBe(false);
      await report({ callId: 'q-1', event: 'answered', caller: '0366660001', agent: 'first.demo' });
      await t.setStatus(agents.first.token, 'on_call');
      expect((await standing('q-2')).ready).toBe(false);

      // Two free: both remaining callers are ready, and get the longest idle agent first.
      await t.setStatus(agents.second.token, 'available');
      await t.setStatus(agents.dealerDesk.token, 'available');
      expect(await standing('q-2')).toEqual({ ready: true, position: 1, waiting: 2 });
      expect(await standing('q-3')).toEqual({ ready: true, position: 2, waiting: 2 });
      expect((await route({ caller: '0366660002', callId: 'q-2' })).targets.map((target) => target.userId)).toEqual([
        agents.second.user.id,
        agents.dealerDesk.user.id,
      ]);

      const decisions = await t.backend.handle.db
        .selectFrom('audit_events')
        .select('details')
        .where('action', '=', 'call_routed')
        .where('details', 'like', '%"callId":"q-1"%')
        .orderBy('id')
        .execute();
      expect(decisions.map((row) => JSON.parse(row.details) as { action: string; queue?: unknown })).toMatchObject([
        { action: 'queue', queue: { position: 1, waiting: 1 } },
        { action: 'ring', targets: [{ userId: agents.first.user.id, reason: 'queue' }] },
      ]);
    });

    it('counts a caller who hung up as abandoned and moves the line up', async () => {
      await route({ caller: '0366660001', callId: 'a-1' });
      await route({ caller: '0366660002', callId: 'a-2' });
      const gaveUp = await report({ callId: 'a-1', event: 'abandoned', caller: '0366660001', agent: null });
      expect(gaveUp).toMatchObject({ status: 'ended', customerId: dealer.id, callLogContactId: expect.any(String) as unknown });
      // Reported twice, counted once.
      await report({ callId: 'a-1', event: 'abandoned', caller: '0366660001', agent: null });
      expect((await poll('a-1')).statusCode).toBe(404);
      expect(await standing('a-2')).toEqual({ ready: false, position: 1, waiting: 1 });
      const rows = await telephonyDb(t.backend.handle.db).selectFrom('call_queue').select(['call_id', 'state']).orderBy('call_id').execute();
      expect(rows).toEqual([
        { call_id: 'a-1', state: 'abandoned' },
        { call_id: 'a-2', state: 'waiting' },
      ]);
      const audited = await t.backend.handle.db.selectFrom('audit_events').select(['action', 'customer_id']).where('details', 'like', '%"callId":"a-1"%').where('action', '=', 'call_abandoned').execute();
      expect(audited).toEqual([{ action: 'call_abandoned', customer_id: dealer.id }]);
      // An abandoned call routed again (a confused PBX) does not come back into line.
      await route({ caller: '0366660001', callId: 'a-1' });
      expect((await poll('a-1')).statusCode).toBe(404);
    });

    it('lets a caller the PBX stopped asking about lose their place', async () => {
      await route({ caller: '0366660001', callId: 's-1' });
      await route({ caller: '0366660002', callId: 's-2' });
      const long = new Date(Date.now() - (QUEUE_SILENCE_SECONDS + 5) * 1000).toISOString();
      await telephonyDb(t.backend.handle.db).updateTable('call_queue').set({ polled_at: long }).where('call_id', '=', 's-1').execute();
      expect(await standing('s-2')).toEqual({ ready: false, position: 1, waiting: 1 });
    });

    it('puts a delivered call that found nobody back at its old place', async () => {
      await route({ caller: '0366660001', callId: 'b-1' });
      await t.setStatus(agents.first.token, 'available');
      expect((await route({ caller: '0366660001', callId: 'b-1' })).action).toBe('ring');
      await route({ caller: '0366660002', callId: 'b-2' });
      // Asked again at once (a retry): the same answer, still delivered.
      expect((await route({ caller: '0366660001', callId: 'b-1' })).targets.map((target) => target.userId)).toEqual([agents.first.user.id]);
      // Nobody answered b-1; after the ring time the PBX asks again and nobody is free.
      const earlier = new Date(Date.now() - 20_000).toISOString();
      await telephonyDb(t.backend.handle.db).updateTable('call_queue').set({ left_at: earlier }).where('call_id', '=', 'b-1').execute();
      await t.setStatus(agents.first.token, 'break');
      expect((await route({ caller: '0366660001', callId: 'b-1' })).queue).toEqual({ position: 1, waiting: 2 });
    });

    it('keeps the order when two backend instances answer the same PBX', async () => {
      await route({ caller: '0366660001', callId: 'm-1' }, 'first');
      await route({ caller: '0366660002', callId: 'm-2' }, 'second');
      expect(await standing('m-2', 'first')).toEqual({ ready: false, position: 2, waiting: 2 });
      await t.setStatus(agents.first.token, 'available');
      expect((await standing('m-1', 'second')).ready).toBe(true);
      expect((await standing('m-2', 'first')).ready).toBe(false);
      // The PBX's question reached both instances at once: the same answer, one delivery.
      const [a, b] = await Promise.all([route({ caller: '0366660001', callId: 'm-1' }, 'first'), route({ caller: '0366660001', callId: 'm-1' }, 'second')]);
      expect([a.action, b.action]).toEqual(['ring', 'ring']);
      expect(a.targets).toEqual(b.targets);
      expect(await standing('m-2', 'second')).toMatchObject({ ready: false, position: 1, waiting: 1 });
    });

    it('shows the queue in the supervisors\' live view: place, wait, name by right, abandoned today', async () => {
      await route({ caller: '0366660001', callId: 'l-1' });
      await route({ caller: '0299990000', callId: 'l-2' });
      await route({ caller: '0366660002', callId: 'l-3' });
      await report({ callId: 'l-3', event: 'abandoned', caller: '0366660002', agent: null });
      const supervisor = await t.backend.login('supervisor');
      const summary = SupervisorSummary.parse((await t.call('GET', MAIL_API.supervisorSummary, { token: supervisor })).json());
      expect(summary.callQueue.abandonedToday).toBe(1);
      expect(summary.callQueue.callers.map(({ callId, caller, customerName, position }) => ({ callId, caller, customerName, position }))).toEqual([
        { callId: 'l-1', caller: '0366660001', customerName: '販売店 一号', position: 1 },
        { callId: 'l-2', caller: '0299990000', customerName: null, position: 2 },
      ]);
      expect(summary.callQueue.callers[0]!.secondsWaiting).toBeGreaterThanOrEqual(0);
      // A caller in line longer shows the longer wait.
      const earlier = new Date(Date.parse(summary.now) - 90_000).toISOString();
      await telephonyDb(t.backend.handle.db).updateTable('call_queue').set({ entered_at: earlier }).where('call_id', '=', 'l-1').execute();
      const later = SupervisorSummary.parse((await t.call('GET', MAIL_API.supervisorSummary, { token: supervisor })).json());
      expect(later.callQueue.callers[0]!.secondsWaiting).toBeGreaterThanOrEqual(90);
      // A supervisor whose authority stops short of the customer sees the number, not the name.
      await createCustomerRecord(t.backend.handle, t.backend.demo.tenant.id, {
        code: 'SEC-1',
        name: '機密 顧客',
        classification: 1,
        phones: [{ e164: '+81366660009', kind: 'landline' }],
      });
      await t.setStatus(supervisor, 'on_call');
      await route({ caller: '0366660009', callId: 'l-4' });
      await t.addAgent({ login: 'branch-lead', customerLimitAuthority: 3 });
      await t.backend.handle.db.updateTable('users').set({ role: 'supervisor' }).where('login', '=', 'branch-lead').execute();
      const lead = await t.backend.login('branch-lead');
      const limited = SupervisorSummary.parse((await t.call('GET', MAIL_API.supervisorSummary, { token: lead })).json());
      expect(limited.callQueue.callers.find((caller) => caller.callId === 'l-4')).toMatchObject({ caller: '0366660009', customerName: null });
    });

    it('refuses a queue question for a call not in line, or of a tenant the PBX does not serve', async () => {
      expect((await poll('never-queued')).statusCode).toBe(404);
      const foreign = await t.call('GET', `${TELEPHONY_API.ctiQueue}?tenant=demo&callId=x`, { cti: t.otherPbxToken });
      expect(foreign.statusCode).toBe(403);
      const noCallId = await t.call('GET', `${TELEPHONY_API.ctiQueue}?tenant=demo`, { cti: t.ctiToken });
      expect(noCallId.statusCode).toBe(400);
      expect(errorMessage(noCallId)).toContain('query.callId');
    });

    it('sends a new caller to the queue while callers ahead wait for the free agents', async () => {
      await route({ caller: '0366660001', callId: 'f-1' });
      await t.setStatus(agents.first.token, 'available');
      // f-1 is owed the one free agent: the newcomer waits behind it although an agent is free.
      expect(await route({ caller: '0366660002', callId: 'f-2' })).toMatchObject({ action: 'queue', queue: { position: 2, waiting: 2 } });
      // More free agents than waiting callers: a newcomer rings at once.
      await t.setStatus(agents.second.token, 'available');
      await t.setStatus(agents.dealerDesk.token, 'available');
      expect(await route({ caller: '0366660002', callId: 'f-3' })).toMatchObject({ action: 'ring', customerId: prospect.id });
    });
  });
});
