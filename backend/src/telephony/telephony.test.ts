import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_API, SupervisorSummary } from '../../../shared/api.js';
import { SipCredentials, TelephonySettings, type CallEventInput } from '../../../shared/ipc.js';
import { loadConfig } from '../config.js';
import { createDemoTenant, type DemoTenant } from '../testing/fixtures.js';
import { DIALECTS } from '../testing/harness.js';
import { ctiTokenSha256, pbxOfToken } from './cti-access.js';
import { TELEPHONY_API } from './routes.js';
import { telephonyDb } from './schema.js';
import { DEFAULT_DISPOSITIONS } from './settings.js';
import { errorMessage, startTelephonyBackend, type TelephonyBackend } from './test-support.js';

describe('telephony configuration', () => {
  it('has loopback defaults and no secret or token unless given', () => {
    expect(loadConfig({}).telephony).toEqual({
      sipSecret: null,
      sipWsUrl: 'ws://127.0.0.1:5066',
      sipDomain: '127.0.0.1',
      credentialTtlSeconds: 600,
      ctiPbxes: [],
    });
  });

  it('names the variable that is wrong and never echoes a secret', () => {
    for (const [name, value] of [
      ['TSUNAGU_SIP_SECRET', 'short-secret'],
      ['TSUNAGU_SIP_SECRET', 'a-long-enough-secret-with-"quote'],
      ['TSUNAGU_CTI_TOKEN', 'one-token-for-every-tenant-is-gone'],
      ['TSUNAGU_CTI_PBXES', '[{"id": "dev", "tenants": ["demo"], "tokenSha256": "the-token-itself-not-its-hash"}]'],
      ['TSUNAGU_CTI_PBXES', '{not json: secret-ish'],
      ['TSUNAGU_SIP_WS_URL', 'http://127.0.0.1:5066'],
      ['TSUNAGU_SIP_CREDENTIAL_TTL_SECONDS', '5'],
    ] as const) {
      let message = '';
      try {
        loadConfig({ [name]: value });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, name).toContain(name);
      expect(message, name).not.toContain(value);
    }
  });
});

describe('CTI PBX configuration', () => {
  const digest = (token: string) => ctiTokenSha256(token);

  it('reads each PBX with its token\'s SHA-256 and its tenants, and finds a PBX by its token only', () => {
    const pbxes = loadConfig({
      TSUNAGU_CTI_PBXES: JSON.stringify([
        { id: 'tokyo', tenants: ['demo'], tokenSha256: digest('tokyo-token-0123456789').toUpperCase() },
        { id: 'osaka', tenants: ['other', 'third'], tokenSha256: digest('osaka-token-0123456789') },
      ]),
    }).telephony.ctiPbxes;
    expect(pbxes.map((pbx) => [pbx.id, pbx.tenants])).toEqual([['tokyo', ['demo']], ['osaka', ['other', 'third']]]);
    expect(pbxOfToken(pbxes, 'tokyo-token-0123456789')?.id).toBe('tokyo');
    expect(pbxOfToken(pbxes, 'osaka-token-0123456789')?.id).toBe('osaka');
    expect(pbxOfToken(pbxes, digest('osaka-token-0123456789'))).toBeNull();
    expect(pbxOfToken(pbxes, 'osaka-token-012345678')).toBeNull();
  });

  it('refuses two PBXes with one token, a PBX without tenants, and unknown fields', () => {
    const token = digest('shared-token-0123456789');
    for (const list of [
      [{ id: 'a', tenants: ['demo'], tokenSha256: token }, { id: 'b', tenants: ['other'], tokenSha256: token }],
      [{ id: 'a', tenants: [], tokenSha256: token }],
      [{ id: 'a', tenants: ['demo'], tokenSha256: token, token: 'plain' }],
    ]) {
      expect(() => loadConfig({ TSUNAGU_CTI_PBXES: JSON.stringify(list) })).toThrow(/TSUNAGU_CTI_PBXES/);
    }
  });
});

describe.each(DIALECTS)('telephony routes on %s', (dialect) => {
  let t: TelephonyBackend;
  let tokens: Record<'admin' | 'supervisor' | 'agent' | 'osaka', string>;
  let other: DemoTenant;
  let otherAdmin: string;

  beforeAll(async () => {
    t = await startTelephonyBackend(dialect);
    const { backend } = t;
    tokens = {
      admin: await backend.login('admin'),
      supervisor: await backend.login('supervisor'),
      agent: await backend.login('agent'),
      osaka: await backend.login('osaka'),
    };
    other = await createDemoTenant(backend.handle, backend.config.argon2, { slug: 'other', name: 'Other Center' });
    otherAdmin = await backend.login('admin', { tenant: 'other' });
  });
  afterAll(() => t?.dispose());

  describe('SIP credentials', () => {
    it('issues autheph credentials for the user that expire after the configured time', async () => {
      const before = Math.floor(Date.now() / 1000);
      const response = await t.call('POST', TELEPHONY_API.sipCredentials, { token: tokens.agent });
      const after = Math.floor(Date.now() / 1000);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
      const credentials = SipCredentials.parse(response.json());
      const match = /^(\d+):agent\.demo$/.exec(credentials.username);
      expect(match).not.toBeNull();
      const expiry = Number(match![1]);
      expect(expiry).toBeGreaterThanOrEqual(before + t.telephony.credentialTtlSeconds);
      expect(expiry).toBeLessThanOrEqual(after + t.telephony.credentialTtlSeconds);
      expect(credentials.expiresAt).toBe(new Date(expiry * 1000).toISOString());
      // The formula Kamailio's auth_ephemeral checks: base64(HMAC-SHA1(secret, username)).
      expect(credentials.password).toBe(createHmac('sha1', t.telephony.sipSecret).update(credentials.username).digest('base64'));
      expect(credentials).toMatchObject({ wsUrl: 'ws://127.0.0.1:5066', aor: 'sip:agent.demo@tsunagu.test', displayName: '鈴木 一郎' });
    });

    it('gives same-login users of two tenants different SIP users, AORs and credentials', async () => {
      const otherAgent = await t.backend.login('agent', { tenant: 'other' });
      const [mine, theirs] = await Promise.all(
        [tokens.agent, otherAgent].map(async (token) => SipCredentials.parse((await t.call('POST', TELEPHONY_API.sipCredentials, { token })).json())),
      );
      expect(mine!.aor).toBe('sip:agent.demo@tsunagu.test');
      expect(theirs!.aor).toBe('sip:agent.other@tsunagu.test');
      expect(theirs!.username).toMatch(/^\d+:agent\.other$/);
      expect(theirs!.password).not.toBe(mine!.password);
    });

    it('keeps SIP users unique across tenants, whatever their case', async () => {
      const { handle } = t.backend;
      const row = await handle.db.selectFrom('users').select('sip_user').where('tenant_id', '=', other.tenant.id).where('login', '=', 'agent').executeTakeFirstOrThrow();
      expect(row.sip_user).toBe('agent.other');
      const squat = handle.db.updateTable('users').set({ sip_user: 'AGENT.DEMO' }).where('tenant_id', '=', other.tenant.id).where('login', '=', 'agent').execute();
      await expect(squat).rejects.toThrow(/unique/i);
    });

    it('uses the user\'s SIP user over the login, and refuses a login that is no SIP user part', async () => {
      const withSipUser = await t.addAgent({ login: 'sip-owner', sipUser: '7001' });
      const credentials = SipCredentials.parse((await t.call('POST', TELEPHONY_API.sipCredentials, { token: withSipUser.token })).json());
      expect(credentials.username).toMatch(/^\d+:7001$/);
      expect(credentials.aor).toBe('sip:7001@tsunagu.test');

      const mailLogin = await t.addAgent({ login: 'taro@example.jp' });
      const refused = await t.call('POST', TELEPHONY_API.sipCredentials, { token: mailLogin.token });
      expect(refused.statusCode).toBe(409);
      expect(errorMessage(refused)).toMatch(/SIP user/);
    });

    it('refuses disabled and anonymous users', async () => {
      const leaver = await t.addAgent({ login: 'leaver' });
      expect((await t.call('POST', TELEPHONY_API.sipCredentials, { token: leaver.token })).statusCode).toBe(200);
      await t.backend.handle.db.updateTable('users').set({ disabled: 1 }).where('id', '=', leaver.user.id).execute();
      const refused = await t.call('POST', TELEPHONY_API.sipCredentials, { token: leaver.token });
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).not.toHaveProperty('password');
      expect((await t.call('POST', TELEPHONY_API.sipCredentials)).statusCode).toBe(401);
    });

    it('answers 503 with the reason when the backend has no SIP secret', async () => {
      const response = await t.backend.app.inject({
        method: 'POST',
        url: TELEPHONY_API.sipCredentials,
        headers: { authorization: `Bearer ${tokens.agent}` },
      });
      expect(response.statusCode).toBe(503);
      expect(errorMessage(response)).toContain('TSUNAGU_SIP_SECRET');
    });
  });

  describe('settings', () => {
    it('gives every tenant sensible defaults, with its region', async () => {
      const response = await t.call('GET', TELEPHONY_API.telephonySettings, { token: tokens.agent });
      expect(response.statusCode, response.body).toBe(200);
      expect(TelephonySettings.parse(response.json())).toEqual({
        dispositions: DEFAULT_DISPOSITIONS,
        customerIdHeader: 'X-Customer-Id',
        afterCallWorkSeconds: 120,
        dtmfMode: 'rfc4733',
        ringSeconds: 15,
        defaultRegion: 'JP',
      });
    });

    it('lets an admin change them for their tenant only, and reset them', async () => {
      const change = {
        dispositions: [
          { code: 'done', label: '完了' },
          { code: 'later', label: '後日対応' },
        ],
        customerIdHeader: 'X-Ivr-Customer',
        afterCallWorkSeconds: 30,
        dtmfMode: 'info',
        ringSeconds: 20,
      };
      const changed = await t.call('PUT', TELEPHONY_API.telephonySettings, { token: tokens.admin, body: change });
      expect(changed.statusCode, changed.body).toBe(200);
      const seenByAgent = TelephonySettings.parse((await t.call('GET', TELEPHONY_API.telephonySettings, { token: tokens.agent })).json());
      expect(seenByAgent).toEqual({ ...change, defaultRegion: 'JP' });
      const otherTenant = TelephonySettings.parse((await t.call('GET', TELEPHONY_API.telephonySettings, { token: otherAdmin })).json());
      expect(otherTenant.dispositions).toEqual(DEFAULT_DISPOSITIONS);
      expect(otherTenant.customerIdHeader).toBe('X-Customer-Id');

      const partly = await t.call('PUT', TELEPHONY_API.telephonySettings, { token: tokens.admin, body: { afterCallWorkSeconds: 45 } });
      expect(TelephonySettings.parse(partly.json())).toMatchObject({ afterCallWorkSeconds: 45, dtmfMode: 'info', customerIdHeader: 'X-Ivr-Customer' });

      const reset = await t.call('PUT', TELEPHONY_API.telephonySettings, {
        token: tokens.admin,
        body: { dispositions: null, customerIdHeader: null, afterCallWorkSeconds: null, dtmfMode: null, ringSeconds: null },
      });
      expect(TelephonySettings.parse(reset.json())).toMatchObject({
        dispositions: DEFAULT_DISPOSITIONS,
        customerIdHeader: 'X-Customer-Id',
        afterCallWorkSeconds: 120,
        ringSeconds: 15,
      });
    });

    it('refuses changes from non-admins and bad input, naming the field', async () => {
      expect((await t.call('PUT', TELEPHONY_API.telephonySettings, { token: tokens.supervisor, body: { afterCallWorkSeconds: 10 } })).statusCode).toBe(403);
      const header = await t.call('PUT', TELEPHONY_API.telephonySettings, { token: tokens.admin, body: { customerIdHeader: 'X-Bad Header\r\n' } });
      expect(header.statusCode).toBe(400);
      expect(errorMessage(header)).toContain('body.customerIdHeader');
      const twice = await t.call('PUT', TELEPHONY_API.telephonySettings, {
        token: tokens.admin,
        body: { dispositions: [{ code: 'a', label: 'A' }, { code: 'a', label: 'B' }] },
      });
      expect(errorMessage(twice)).toContain('body.dispositions');
      const empty = await t.call('PUT', TELEPHONY_API.telephonySettings, { token: tokens.admin, body: {} });
      expect(empty.statusCode).toBe(400);
      const unknown = await t.call('PUT', TELEPHONY_API.telephonySettings, { token: tokens.admin, body: { ringTone: 'loud' } });
      expect(errorMessage(unknown)).toMatch(/ringTone/);
    });
  });

  describe('call events', () => {
    const callEvent = (overrides: Partial<CallEventInput> & Pick<CallEventInput, 'callId' | 'event'>): CallEventInput => ({
      direction: 'inbound',
      remote: '+81312345678',
      customerId: null,
      at: new Date().toISOString(),
      ...overrides,
    });
    const post = (token: string, body: unknown) => t.call('POST', TELEPHONY_API.callEvents, { token, body });
    const auditOf = (callId: string) =>
      t.backend.handle.db
        .selectFrom('audit_events')
        .select(['action', 'user_id', 'customer_id', 'details'])
        .where('tenant_id', '=', t.backend.demo.tenant.id)
        .where('action', 'like', 'call_%')
        .orderBy('id')
        .execute()
        .then((rows) =>
          rows
            .map((row) => ({ ...row, details: JSON.parse(row.details) as Record<string, unknown> }))
            .filter((row) => row.details.callId === callId),
        );
    const summary = async () =>
      SupervisorSummary.parse((await t.call('GET', MAIL_API.supervisorSummary, { token: tokens.supervisor })).json()).calls;

    it('audits ringing, answered and ended with the customer id and times, and counts the call meanwhile', async () => {
      const yamada = t.backend.demo.customers.yamada.id;
      const agent = t.backend.demo.users.agent;
      const callId = 'call-audit-1@test';
      const base = await summary();
      const ringingAt = '2026-01-05T01:00:00.000Z';
      expect((await post(tokens.agent, callEvent({ callId, event: 'ringing', customerId: yamada, at: ringingAt }))).statusCode).toBe(204);
      expect(await summary()).toEqual({ ringing: base.ringing + 1, connected: base.connected });
      await post(tokens.agent, callEvent({ callId, event: 'answered', customerId: yamada, at: '2026-01-05T01:00:05.000Z' }));
      expect(await summary()).toEqual({ ringing: base.ringing, connected: base.connected + 1 });
      await post(tokens.agent, callEvent({ callId, event: 'ended', customerId: yamada, at: '2026-01-05T01:03:05.000Z' }));
      expect(await summary()).toEqual(base);

      const audit = await auditOf(callId);
      expect(audit.map((row) => row.action)).toEqual(['call_ringing', 'call_answered', 'call_ended']);
      for (const row of audit) expect(row).toMatchObject({ user_id: agent.id, customer_id: yamada });
      expect(audit[0]!.details).toMatchObject({ at: ringingAt, direction: 'inbound', remote: '+81312345678', source: 'app' });
      expect(audit[2]!.details).toMatchObject({
        startedAt: ringingAt,
        answeredAt: '2026-01-05T01:00:05.000Z',
        endedAt: '2026-01-05T01:03:05.000Z',
      });
    });

    it('audits a retried event once, and never moves a call back to ringing', async () => {
      const callId = 'call-retry-1@test';
      for (const event of ['ringing', 'ringing', 'answered', 'ended', 'answered', 'ended'] as const) {
        expect((await post(tokens.agent, callEvent({ callId, event }))).statusCode).toBe(204);
      }
      expect((await auditOf(callId)).map((row) => row.action)).toEqual(['call_ringing', 'call_answered', 'call_ended']);
      const row = await telephonyDb(t.backend.handle.db)
        .selectFrom('calls')
        .select(['status'])
        .where('external_id', '=', callId)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('ended');
    });

    it('records declined, missed and transferred calls', async () => {
      await post(tokens.agent, callEvent({ callId: 'call-declined@test', event: 'ringing' }));
      await post(tokens.agent, callEvent({ callId: 'call-declined@test', event: 'rejected' }));
      await post(tokens.agent, callEvent({ callId: 'call-missed@test', event: 'missed' }));
      await post(tokens.agent, callEvent({ callId: 'call-moved@test', event: 'answered' }));
      await post(tokens.agent, callEvent({ callId: 'call-moved@test', event: 'transferred', transferTarget: 'sip:osaka@tsunagu.test' }));
      expect((await auditOf('call-declined@test')).map((row) => [row.action, row.details.reason])).toEqual([
        ['call_ringing', undefined],
        ['call_missed', 'rejected'],
      ]);
      expect((await auditOf('call-missed@test')).map((row) => row.action)).toEqual(['call_missed']);
      const moved = await auditOf('call-moved@test');
      expect(moved.map((row) => row.action)).toEqual(['call_answered', 'call_transferred']);
      expect(moved[1]!.details.transferTarget).toBe('sip:osaka@tsunagu.test');
    });

    it('keeps one leg per agent when the PBX rings several agents with one Call-ID', async () => {
      const callId = 'call-forked@test';
      await post(tokens.agent, callEvent({ callId, event: 'ringing' }));
      await post(tokens.osaka, callEvent({ callId, event: 'ringing' }));
      await post(tokens.osaka, callEvent({ callId, event: 'answered' }));
      await post(tokens.agent, callEvent({ callId, event: 'missed' }));
      const legs = await telephonyDb(t.backend.handle.db).selectFrom('calls').select(['agent_id', 'status']).where('external_id', '=', callId).orderBy('status').execute();
      expect(legs).toEqual([
        { agent_id: t.backend.demo.users.osakaAgent.id, status: 'connected' },
        { agent_id: t.backend.demo.users.agent.id, status: 'ended' },
      ]);
    });

    it('closes an agent\'s stale ringing call when a new one rings, so it cannot pause mail forever', async () => {
      const longAgo = new Date(Date.now() - 10 * 60_000).toISOString();
      await post(tokens.osaka, callEvent({ callId: 'call-crashed@test', event: 'ringing', at: longAgo }));
      await post(tokens.osaka, callEvent({ callId: 'call-next@test', event: 'ringing' }));
      const rows = await telephonyDb(t.backend.handle.db)
        .selectFrom('calls')
        .select(['external_id', 'status'])
        .where('external_id', 'in', ['call-crashed@test', 'call-next@test'])
        .orderBy('external_id')
        .execute();
      expect(rows).toEqual([
        { external_id: 'call-crashed@test', status: 'ended' },
        { external_id: 'call-next@test', status: 'ringing' },
      ]);
      await post(tokens.osaka, callEvent({ callId: 'call-next@test', event: 'missed' }));
    });

    it('refuses bad input naming the field', async () => {
      const missing = await post(tokens.agent, { event: 'ringing', direction: 'inbound', remote: '', customerId: null, at: new Date().toISOString() });
      expect(missing.statusCode).toBe(400);
      expect(errorMessage(missing)).toContain('body.callId');
      expect(errorMessage(await post(tokens.agent, callEvent({ callId: 'x', event: 'exploded' as never })))).toContain('body.event');
      expect(errorMessage(await post(tokens.agent, callEvent({ callId: 'x', event: 'ringing', at: 'yesterday' })))).toContain('body.at');
      expect((await post('no-such-token', callEvent({ callId: 'x', event: 'ringing' }))).statusCode).toBe(401);
    });

    it('answers an invisible, a foreign and an unknown customer id alike, and logs the call without it', async () => {
      const cases = [
        ['call-invisible@test', t.backend.demo.customers.acme.id],
        ['call-foreign@test', other.customers.yamada.id],
        ['call-unknown@test', 'no-such-customer'],
      ] as const;
      const answers = [];
      for (const [callId, customerId] of cases) {
        const response = await post(tokens.agent, callEvent({ callId, event: 'ringing', customerId }));
        answers.push({ status: response.statusCode, body: response.body });
        await post(tokens.agent, callEvent({ callId, event: 'missed', customerId }));
      }
      expect(answers).toEqual([answers[0], answers[0], answers[0]]);
      expect(answers[0]).toEqual({ status: 204, body: '' });
      const rows = await telephonyDb(t.backend.handle.db)
        .selectFrom('calls')
        .select(['external_id', 'customer_id'])
        .where('external_id', 'in', cases.map(([callId]) => callId))
        .execute();
      expect(rows.map((row) => row.customer_id)).toEqual([null, null, null]);
    });
  });
});
