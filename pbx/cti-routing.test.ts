import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueSipCredentials } from './credentials.js';
import { parsePbxOptions, pbxOptionsFromEnv } from './pbx.js';
import { routeAnswer, startCtiBackendStub, type CtiBackendStub, type RecordedEvent } from './test-support/cti-backend-stub.js';
import { RawSipClient, webRtcLikeSdp } from './test-support/raw-sip-client.js';
import { headerValue, type SipMessage } from './sip-message.js';
import { startTestPbx, type TestPbx } from './test-support/test-pbx.js';
import { UdpTrunkCaller } from './test-support/udp-caller.js';
import { UdpSipCaller } from './test-support/udp-sip-caller.js';
import { waitFor } from './test-support/wait.js';

const QUEUE = '0501110000';
const FALLBACK = ['fb1.demo', 'fb2.demo'];

describe('CTI options', () => {
  const base = { runtimeDir: '/tmp/x', secret: 'x'.repeat(20) };
  const cti = { backendUrl: 'http://127.0.0.1:8740', token: 't'.repeat(32), tenants: ['demo'] };
  it('names the field that is wrong', () => {
    expect(() => parsePbxOptions({ ...base, cti: { ...cti, backendUrl: 'http://x/api"' } })).toThrow(/cti\.backendUrl/);
    expect(() => parsePbxOptions({ ...base, cti: { ...cti, token: 'short' } })).toThrow(/cti\.token/);
    expect(() => parsePbxOptions({ ...base, cti: { ...cti, queues: [{ number: '05";x', tenant: 'demo', fallback: ['a'] }] } })).toThrow(/number/);
    expect(() => parsePbxOptions({ ...base, cti: { ...cti, queues: [{ number: '05', tenant: 'demo', fallback: [] }] } })).toThrow(/fallback/);
    expect(() => parsePbxOptions({ ...base, cti: { ...cti, queues: [{ number: '05', tenant: 'other', fallback: ['a'] }] } })).toThrow(/queues/);
  });

  it('reads CTI settings from the environment, the token included, and names a bad one', () => {
    const env = {
      TSUNAGU_SIP_SECRET: 'x'.repeat(20),
      TSUNAGU_PBX_CTI_TOKEN: 't'.repeat(32),
      TSUNAGU_PBX_CTI_TENANTS: 'demo, other',
      TSUNAGU_PBX_CTI_QUEUES: JSON.stringify([{ number: '0120555001', tenant: 'demo', fallback: ['agent1.demo'] }]),
    };
    const options = parsePbxOptions({ ...pbxOptionsFromEnv(env), runtimeDir: '/tmp/x' });
    expect(options.cti).toMatchObject({ backendUrl: 'http://127.0.0.1:8740', tenants: ['demo', 'other'], queues: [{ number: '0120555001', ringSeconds: 20 }] });
    expect(() => pbxOptionsFromEnv({ ...env, TSUNAGU_PBX_CTI_QUEUES: '[' })).toThrow(/TSUNAGU_PBX_CTI_QUEUES/);
    expect(pbxOptionsFromEnv({ TSUNAGU_SIP_SECRET: 'x'.repeat(20) }).cti).toBeUndefined();
  });
});

describe('Kamailio consults the backend (CTI)', () => {
  const token = randomBytes(24).toString('base64url');
  let backend: CtiBackendStub;
  let pbx: TestPbx;
  const agents: RawSipClient[] = [];
  const callers: UdpTrunkCaller[] = [];

  async function agent(user: string): Promise<RawSipClient> {
    const client = await RawSipClient.connect(pbx.wsUrl, { user });
    agents.push(client);
    const credentials = issueSipCredentials({ secret: pbx.secret, user, ttlSeconds: 300, now: new Date() });
    expect((await client.register({ credentials })).status).toBe(200);
    return client;
  }

  async function call(called: string, caller = '0311112222'): Promise<UdpTrunkCaller> {
    const c = await UdpTrunkCaller.open(pbx.udpPort, caller);
    callers.push(c);
    c.invite(called);
    return c;
  }

  function eventsOf(callId: string): Array<Pick<RecordedEvent, 'event' | 'agent'>> {
    return backend.events.filter((e) => e.callId === callId).map((e) => ({ event: e.event, agent: e.agent }));
  }

  function answer(client: RawSipClient, invite: SipMessage): void {
    client.reply(invite, 180, 'Ringing');
    client.reply(invite, 200, 'OK', { sdp: webRtcLikeSdp('answer') });
  }

  beforeAll(async () => {
    backend = await startCtiBackendStub(token);
    pbx = await startTestPbx({
      cti: {
        backendUrl: backend.url,
        token,
        tenants: ['demo', 'other'],
        queues: [{ number: QUEUE, tenant: 'demo', fallback: FALLBACK, ringSeconds: 5 }],
        mediaUaLimits: { queuePollMs: 100, backendDownMs: 600 },
      },
    });
  });

  afterEach(async () => {
    for (const c of callers.splice(0)) c.close();
    await Promise.all(agents.splice(0).map((a) => a.close()));
    backend.answerRoutesWith(() => ({ status: 503, body: {} }));
    backend.answerQueueWith(() => ({ body: { ready: false, position: 1 } }));
  });

  afterAll(async () => {
    await pbx?.stop();
    await backend?.close();
  });

  it('asks the backend with the call, rings its targets in order, then reports ringing, missed, answered and ended', async () => {
    const first = await agent('op1.demo');
    const second = await agent('op2.demo');
    backend.answerRoutesWith(() => ({ body: routeAnswer(['op2.demo', 'op1.demo'], { customerId: 'cust-7' }) }));
    const caller = await call(QUEUE, '0312345678');

    const toSecond = await second.waitForRequest('INVITE');
    expect(headerValue(toSecond, 'X-Customer-Id')).toBe('cust-7');
    second.reply(toSecond, 486, 'Busy Here');
    const toFirst = await first.waitForRequest('INVITE');
    answer(first, toFirst);
    expect((await caller.finalResponse()).status).toBe(200);
    await first.waitForRequest('ACK');
    caller.hangUp();
    await first.waitForRequest('BYE');

    expect(backend.routeRequests).toHaveLength(1);
    expect(backend.routeRequests[0]?.query).toMatchObject({ tenant: 'demo', caller: '0312345678', called: QUEUE, callId: caller.callId });
    await waitFor(async () => eventsOf(caller.callId), (e) => e.some((x) => x.event === 'ended'), 'the ended event');
    expect(eventsOf(caller.callId)).toEqual([
      { event: 'ringing', agent: 'op2.demo' },
      { event: 'missed', agent: 'op2.demo' },
      { event: 'ringing', agent: 'op1.demo' },
      { event: 'answered', agent: 'op1.demo' },
      { event: 'ended', agent: 'op1.demo' },
    ]);
    const ended = backend.events.find((e) => e.callId === caller.callId && e.event === 'ended');
    expect(ended).toMatchObject({ tenant: 'demo', direction: 'inbound', caller: '0312345678', called: QUEUE, customerId: 'cust-7' });
    expect(ended?.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('moves on when a target rings past its ring time, and rings the fallback group after the targets', async () => {
    const slow = await agent('op3.demo');
    const fallback = await agent(FALLBACK[0]!);
    backend.answerRoutesWith(() => ({ body: routeAnswer(['op3.demo'], { ringSeconds: 5 }) }));
    const caller = await call(QUEUE);
    const unanswered = await slow.waitForRequest('INVITE');
    slow.reply(unanswered, 180, 'Ringing');
    // The PBX gives up on it (CANCEL) before the fallback group rings.
    await slow.waitForRequest('CANCEL', 10_000);
    const toFallback = await fallback.waitForRequest('INVITE', 10_000);
    fallback.reply(toFallback, 486, 'Busy Here');
    expect((await caller.finalResponse()).status).toBe(480);
    await waitFor(async () => eventsOf(caller.callId), (e) => e.length >= 5, 'five events');
    expect(eventsOf(caller.callId)).toEqual([
      { event: 'ringing', agent: 'op3.demo' },
      { event: 'missed', agent: 'op3.demo' },
      { event: 'ringing', agent: FALLBACK[0] },
      { event: 'missed', agent: FALLBACK[0] },
      { event: 'missed', agent: null },
    ]);
  });

  it('rings the fallback group when the backend answers later than the budget', async () => {
    const fallback = await agent(FALLBACK[1]!);
    const target = await agent('op4.demo');
    backend.answerRoutesWith(() => ({ body: routeAnswer(['op4.demo']), delayMs: 800 }));
    const caller = await call(QUEUE);
    const invite = await fallback.waitForRequest('INVITE');
    answer(fallback, invite);
    expect((await caller.finalResponse()).status).toBe(200);
    expect(backend.routeRequests.at(-1)?.query.callId).toBe(caller.callId);
    await expect(target.waitForRequest('INVITE', 500)).rejects.toThrow(/no INVITE/);
    caller.hangUp();
    await fallback.waitForRequest('BYE');
  });

  it('rings the fallback group when the backend never answers: the relay decides once its budget is spent', async () => {
    const fallback = await agent(FALLBACK[0]!);
    const target = await agent('op10.demo');
    backend.answerRoutesWith(() => ({ body: routeAnswer(['op10.demo']), delayMs: Number.POSITIVE_INFINITY }));
    const caller = await call(QUEUE);
    const invite = await fallback.waitForRequest('INVITE');
    answer(fallback, invite);
    expect((await caller.finalResponse()).status).toBe(200);
    expect(backend.routeRequests.at(-1)?.query.callId).toBe(caller.callId);
    const decision = await waitFor(
      async () => (await readFile(pbx.logFiles.kamailio, 'utf8')).split('\n').filter((line) => line.includes(`call ${caller.callId}:`)),
      (lines) => lines.length > 0,
      "Kamailio's log line on the decision",
    );
    expect(decision.join('\n')).toMatch(/fallback group, decided by the relay \(no answer from the backend within 500 ms/);
    expect(decision.join('\n')).not.toMatch(/decided by Kamailio/);
    await expect(target.waitForRequest('INVITE', 500)).rejects.toThrow(/no INVITE/);
    caller.hangUp();
    await fallback.waitForRequest('BYE');
  });

  it('rings the fallback group when the backend is down, and reports the call once it is back', async () => {
    const fallback = await agent(FALLBACK[0]!);
    await backend.close();
    try {
      const caller = await call(QUEUE);
      const invite = await fallback.waitForRequest('INVITE');
      answer(fallback, invite);
      expect((await caller.finalResponse()).status).toBe(200);
      caller.hangUp();
      await fallback.waitForRequest('BYE');
      await backend.reopen();
      await waitFor(async () => eventsOf(caller.callId), (e) => e.some((x) => x.event === 'ended'), 'the events after the backend came back');
      expect(eventsOf(caller.callId)).toEqual([
        { event: 'ringing', agent: FALLBACK[0] },
        { event: 'answered', agent: FALLBACK[0] },
        { event: 'ended', agent: FALLBACK[0] },
      ]);
    } finally {
      await backend.reopen().catch(() => undefined);
    }
  });

  it('keeps call events on disk while the backend refuses them and while the relay is killed, then delivers each once, in order', async () => {
    const rep = await agent('rep2.demo');
    const spoolRows = (callId: string): number => {
      const db = new Database(`${pbx.runtimeDir}/cti-events.sqlite`, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM events WHERE call_id = ?').get(callId) as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const answeredCall = async (from: string): Promise<UdpTrunkCaller> => {
      const caller = await call('rep2.demo', from);
      const invite = await rep.waitForRequest('INVITE');
      answer(rep, invite);
      expect((await caller.finalResponse()).status).toBe(200);
      await rep.waitForRequest('ACK');
      caller.hangUp();
      await rep.waitForRequest('BYE');
      return caller;
    };
    backend.failEventsWith(503);
    try {
      const first = await answeredCall('0311110001');
      await waitFor(async () => spoolRows(first.callId), (n) => n === 3, "the first call's events in the spool");
      await pbx.killCtiRelay();
      // The relay is gone: Kamailio keeps these in memory.
      const second = await answeredCall('0311110002');
      await pbx.startCtiRelay();
      await waitFor(async () => spoolRows(second.callId), (n) => n === 3, "the second call's events in the spool");
      expect(backend.events.filter((e) => e.callId === first.callId || e.callId === second.callId)).toEqual([]);
      backend.failEventsWith(undefined);
      await waitFor(async () => eventsOf(second.callId), (e) => e.some((x) => x.event === 'ended'), 'the events after the backend came back');
      const delivered = backend.events
        .filter((e) => e.callId === first.callId || e.callId === second.callId)
        .map((e) => `${e.callId === first.callId ? 'first' : 'second'} ${e.event}`);
      expect(delivered).toEqual(['first ringing', 'first answered', 'first ended', 'second ringing', 'second answered', 'second ended']);
    } finally {
      backend.failEventsWith(undefined);
      await pbx.startCtiRelay().catch(() => undefined);
    }
  });

  it('reports a caller who hangs up while a target rings as abandoned', async () => {
    const target = await agent('op5.demo');
    backend.answerRoutesWith(() => ({ body: routeAnswer(['op5.demo']) }));
    const caller = await call(QUEUE);
    const invite = await target.waitForRequest('INVITE');
    target.reply(invite, 180, 'Ringing');
    await caller.waitForResponse((r) => r.status === 180);
    caller.cancel();
    await target.waitForRequest('CANCEL');
    target.reply(invite, 487, 'Request Terminated');
    expect((await caller.finalResponse()).status).toBe(487);
    await waitFor(async () => eventsOf(caller.callId), (e) => e.some((x) => x.event === 'abandoned'), 'the abandoned event');
    expect(eventsOf(caller.callId)).toEqual([
      { event: 'ringing', agent: 'op5.demo' },
      { event: 'abandoned', agent: 'op5.demo' },
    ]);
  });

  it('reports a caller who hangs up while the backend is still deciding as abandoned, and rings nobody', async () => {
    const target = await agent('op9.demo');
    backend.answerRoutesWith(() => ({ body: routeAnswer(['op9.demo']), delayMs: 300 }));
    const caller = await call(QUEUE);
    await waitFor(async () => backend.routeRequests.some((r) => r.query.callId === caller.callId), (asked) => asked, 'the routing request');
    caller.cancel();
    expect((await caller.finalResponse()).status).toBe(487);
    await waitFor(async () => eventsOf(caller.callId), (e) => e.length > 0, 'the abandoned event');
    expect(eventsOf(caller.callId)).toEqual([{ event: 'abandoned', agent: null }]);
    await expect(target.waitForRequest('INVITE', 1_000)).rejects.toThrow(/no INVITE/);
  });

  it("reports calls to a rep's own extension, which keep ringing that rep without asking the backend", async () => {
    const rep = await agent('rep1.demo');
    const asked = backend.routeRequests.length;
    const caller = await call('rep1.demo', '0399990000');
    const invite = await rep.waitForRequest('INVITE');
    answer(rep, invite);
    expect((await caller.finalResponse()).status).toBe(200);
    await rep.waitForRequest('ACK');
    const bye = await rep.bye(rep.dialogOfIncoming(invite));
    expect(bye.status).toBe(200);
    await waitFor(async () => eventsOf(caller.callId), (e) => e.some((x) => x.event === 'ended'), 'the ended event');
    expect(eventsOf(caller.callId)).toEqual([
      { event: 'ringing', agent: 'rep1.demo' },
      { event: 'answered', agent: 'rep1.demo' },
      { event: 'ended', agent: 'rep1.demo' },
    ]);
    expect(backend.events.find((e) => e.callId === caller.callId)).toMatchObject({ tenant: 'demo', caller: '0399990000', called: 'rep1.demo' });
    expect(backend.routeRequests.length).toBe(asked);
  });

  describe('queue hold (media UA)', () => {
    const queued = { body: routeAnswer([], { action: 'queue' }) };

    it('holds the caller with early media until the backend has an operator, then rings them', async () => {
      const operator = await agent('op6.demo');
      backend.answerRoutesWith(() => queued);
      const caller = await call(QUEUE);
      const early = await caller.waitForResponse((r) => r.status === 183);
      expect(early.body).toMatch(/m=audio \d+ RTP\/AVP /);
      await waitFor(async () => backend.queueRequests.filter((q) => q.callId === caller.callId).length, (n) => n > 0, 'the media UA polling the queue');
      expect(backend.queueRequests.find((q) => q.callId === caller.callId)?.tenant).toBe('demo');

      backend.answerRoutesWith(() => ({ body: routeAnswer(['op6.demo']) }));
      backend.answerQueueWith(() => ({ body: { ready: true, position: 0 } }));
      const invite = await operator.waitForRequest('INVITE');
      answer(operator, invite);
      expect((await caller.finalResponse()).status).toBe(200);
      expect(backend.routeRequests.filter((r) => r.query.callId === caller.callId)).toHaveLength(2);
      caller.hangUp();
      await operator.waitForRequest('BYE');
      await waitFor(async () => eventsOf(caller.callId), (e) => e.some((x) => x.event === 'ended'), 'the ended event');
      expect(eventsOf(caller.callId)).toEqual([
        { event: 'ringing', agent: 'op6.demo' },
        { event: 'answered', agent: 'op6.demo' },
        { event: 'ended', agent: 'op6.demo' },
      ]);
    });

    it('holds a caller who offers only PCMA (transcoded for the media UA) and still reaches the operator', async () => {
      const operator = await agent('op8.demo');
      backend.answerRoutesWith(() => queued);
      const caller = await UdpTrunkCaller.open(pbx.udpPort, '0377778888');
      callers.push(caller);
      caller.invite(QUEUE, [], 'PCMA');
      const early = await caller.waitForResponse((r) => r.status === 183);
      expect(early.body).toMatch(/m=audio \d+ RTP\/AVP 8/);
      backend.answerRoutesWith(() => ({ body: routeAnswer(['op8.demo']) }));
      backend.answerQueueWith(() => ({ body: { ready: true, position: 0 } }));
      const invite = await operator.waitForRequest('INVITE');
      answer(operator, invite);
      expect((await caller.finalResponse()).status).toBe(200);
      caller.hangUp();
      await operator.waitForRequest('BYE');
    });

    it('reports a caller who hangs up on hold as abandoned', async () => {
      backend.answerRoutesWith(() => queued);
      const caller = await call(QUEUE);
      await caller.waitForResponse((r) => r.status === 183);
      caller.cancel();
      expect((await caller.finalResponse()).status).toBe(487);
      await waitFor(async () => eventsOf(caller.callId), (e) => e.length > 0, 'the abandoned event');
      expect(eventsOf(caller.callId)).toEqual([{ event: 'abandoned', agent: null }]);
    });

    it('hands a held caller to the fallback group when the backend stops answering', async () => {
      const fallback = await agent(FALLBACK[1]!);
      backend.answerRoutesWith(() => queued);
      const caller = await call(QUEUE);
      await caller.waitForResponse((r) => r.status === 183);
      backend.answerQueueWith(() => ({ status: 503, body: {} }));
      const invite = await fallback.waitForRequest('INVITE');
      answer(fallback, invite);
      expect((await caller.finalResponse()).status).toBe(200);
      caller.hangUp();
      await fallback.waitForRequest('BYE');
    });
  });

  it('keeps the CTI token out of the logs and out of every process argument; the config holding it is 0600', async () => {
    for (const log of Object.values(pbx.logFiles)) {
      if (log) expect(await readFile(log, 'utf8')).not.toContain(token);
    }
    expect((await stat(`${pbx.runtimeDir}/kamailio.cfg`)).mode & 0o077).toBe(0);
    for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
      let args = '';
      try {
        args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      expect(args).not.toContain(token);
    }
  });

  it('asks a caller without a caller ID for their customer number, then routes with the customer the IVR found', async () => {
    const operator = await agent('op7.demo');
    backend.ivrCustomers.set('4711', 'cust-4711');
    backend.answerRoutesWith((query) => ({ body: routeAnswer(query.customerId === 'cust-4711' ? ['op7.demo'] : [], { customerId: query.customerId ?? null }) }));
    const caller = await UdpSipCaller.open();
    try {
      caller.invite({ port: pbx.udpPort, requestUri: `sip:${QUEUE}@127.0.0.1:${pbx.udpPort}` });
      await caller.earlyMedia();
      await caller.pressKeys('4711#');
      const invite = await operator.waitForRequest('INVITE', 15_000);
      expect(headerValue(invite, 'X-Customer-Id')).toBe('cust-4711');
      const asked = backend.routeRequests.filter((r) => r.query.callId === caller.callId);
      expect(asked).toHaveLength(1);
      expect(asked[0]?.query).toMatchObject({ customerId: 'cust-4711', caller: '' });
      operator.reply(invite, 486, 'Busy Here');
    } finally {
      caller.close();
    }
  });
});
