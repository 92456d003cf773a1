import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTelephonyBackend, type TelephonyBackend } from '../../backend/src/telephony/test-support.js';
import { issueSipCredentials } from '../credentials.js';
import { parsePbxOptions } from '../pbx.js';
import { RawSipClient, webRtcLikeSdp } from '../test-support/raw-sip-client.js';
import { headerValue, type SipMessage } from '../sip-message.js';
import { runSipp, SIPP_SCENARIOS, withDtmfKeys } from '../test-support/sipp.js';
import { startTestPbx, type TestPbx } from '../test-support/test-pbx.js';
import { UdpSipCaller } from '../test-support/udp-sip-caller.js';
import { waitFor } from '../test-support/wait.js';

describe('PBX mediaUa option', () => {
  it('names the field that is wrong', () => {
    const base = { runtimeDir: '/tmp/x', secret: 'x'.repeat(20) };
    const mediaUa = { backendUrl: 'http://127.0.0.1:8740', ctiToken: 't'.repeat(32), ivrTenant: 'demo' };
    expect(parsePbxOptions({ ...base, mediaUa }).mediaUa).toMatchObject({ port: 0, ivrTenant: 'demo' });
    // The tenant is written into kamailio.cfg: nothing that could end the string or the header.
    expect(() => parsePbxOptions({ ...base, mediaUa: { ...mediaUa, ivrTenant: 'demo\r\nX-Evil: 1' } })).toThrow(/mediaUa\.ivrTenant/);
    expect(() => parsePbxOptions({ ...base, mediaUa: { ...mediaUa, ivrTenant: 'de"mo' } })).toThrow(/mediaUa\.ivrTenant/);
    expect(() => parsePbxOptions({ ...base, mediaUa: { ...mediaUa, backendUrl: 'nope' } })).toThrow(/mediaUa\.backendUrl/);
  });
});

/**
 * The IVR for real: Kamailio sends a trunk caller without a caller ID to the media UA, whose
 * early media crosses rtpengine both ways (prompt out, RFC 4733 key presses in), the real
 * backend checks the customer number, and the agent's INVITE carries the customer id.
 */
describe('IVR through Kamailio, rtpengine and the backend', () => {
  let t: TelephonyBackend;
  let pbx: TestPbx;
  let workDir: string;
  const clients: RawSipClient[] = [];
  const callers: UdpSipCaller[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'tsunagu-ivr-pbx-'));
    t = await startTelephonyBackend('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    if (!address || typeof address === 'string') throw new Error('backend has no TCP address');
    pbx = await startTestPbx({
      mediaUa: { backendUrl: `http://127.0.0.1:${address.port}`, ctiToken: t.ctiToken, ivrTenant: 'demo', dataDir: path.join(workDir, 'media-ua') },
    });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const caller of callers.splice(0)) caller.close();
  });
  afterAll(async () => {
    await pbx?.stop();
    await t?.dispose();
    await rm(workDir, { recursive: true, force: true });
  });

  async function registeredAgent(user: string): Promise<RawSipClient> {
    const agent = await RawSipClient.connect(pbx.wsUrl, { user });
    clients.push(agent);
    const response = await agent.register({ credentials: issueSipCredentials({ secret: pbx.secret, user, ttlSeconds: 300, now: new Date() }) });
    expect(response.status).toBe(200);
    return agent;
  }

  async function anonymousSipp(service: string, keys: string) {
    const scenario = path.join(workDir, `anonymous-${service}.xml`);
    await writeFile(scenario, withDtmfKeys(await readFile(SIPP_SCENARIOS.anonymousCall, 'utf8'), keys));
    return runSipp({ scenario, target: `127.0.0.1:${pbx.udpPort}`, service, logDir: workDir, timeoutSeconds: 60 });
  }

  const ivrAudit = () =>
    t.backend.handle.db.selectFrom('audit_events').select(['customer_id', 'details']).where('action', '=', 'ivr_customer_checked').orderBy('id').execute();

  it('asks an anonymous caller for the customer number and rings the agent with that customer id', async () => {
    const agent = await registeredAgent('agent-ivr-1');
    const sipp = await anonymousSipp('agent-ivr-1', '0001#');
    try {
      const invite: SipMessage = await agent.waitForRequest('INVITE', 30_000);
      expect(headerValue(invite, 'X-Customer-Id')).toBe(t.backend.demo.customers.yamada.id);
      // The IVR's own headers stay on the IVR's leg.
      expect(headerValue(invite, 'X-Tsunagu-Tenant')).toBeUndefined();
      expect(headerValue(invite, 'From')).toMatch(/anonymous/);
      agent.reply(invite, 180, 'Ringing');
      agent.reply(invite, 200, 'OK', { sdp: webRtcLikeSdp('answer') });
      await agent.waitForRequest('ACK');
      expect((await agent.bye(agent.dialogOfIncoming(invite))).status).toBe(200);
      const result = await sipp.done;
      expect(result.errors).toBe('');
      expect(result.exitCode).toBe(0);
      // The caller heard early media from the IVR: a 183 with plain RTP before the agent's answer.
      expect(result.messages).toMatch(/SIP\/2\.0 183 Session Progress[\s\S]*m=audio \d+ RTP\/AVP 0 101/);
    } finally {
      sipp.kill();
    }
    const audit = await ivrAudit();
    expect(audit.at(-1)?.customer_id).toBe(t.backend.demo.customers.yamada.id);
    expect(JSON.parse(audit.at(-1)?.details ?? '{}')).toMatchObject({ outcome: 'found', try: 1, digits: 4 });
  });

  it('rings the agent without a customer after three wrong numbers', async () => {
    const agent = await registeredAgent('agent-ivr-2');
    const before = (await ivrAudit()).length;
    const sipp = await anonymousSipp('agent-ivr-2', '99#98#97#');
    try {
      const invite = await agent.waitForRequest('INVITE', 30_000);
      expect(headerValue(invite, 'X-Customer-Id')).toBeUndefined();
      agent.reply(invite, 486, 'Busy Here');
      await sipp.done;
    } finally {
      sipp.kill();
    }
    const audit = (await ivrAudit()).slice(before);
    expect(audit.map((row) => (JSON.parse(row.details) as { outcome: string }).outcome)).toEqual(['not_found', 'not_found', 'not_found']);
  });

  it('sends a caller with "Privacy: id" to the IVR, plays the prompt through rtpengine, and ends it on CANCEL', async () => {
    const caller = await UdpSipCaller.open();
    callers.push(caller);
    caller.invite({
      port: pbx.udpPort,
      requestUri: `sip:agent-nobody@127.0.0.1:${pbx.udpPort}`,
      fromUri: 'sip:0312345678@trunk.invalid',
      headers: [{ name: 'Privacy', value: 'id' }],
    });
    await caller.earlyMedia(15_000);
    await waitFor(async () => caller.audio.soundPackets, (n) => n >= 25, 'the prompt relayed by rtpengine');
    caller.cancel();
    const final = await caller.finalReply(15_000);
    caller.ackFailure(final);
    expect(final.status).toBe(487);
  });

  it('is what `npm run call -- --anonymous --digits` demonstrates', async () => {
    const agent = await registeredAgent('agent-ivr-4');
    const script = fileURLToPath(new URL('../../scripts/call.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--anonymous', '--digits', '0002', '--sip-user', 'agent-ivr-4', '--seconds', '20'], {
      env: { ...process.env, TSUNAGU_PBX_UDP_PORT: String(pbx.udpPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      const invite = await agent.waitForRequest('INVITE', 40_000);
      expect(headerValue(invite, 'X-Customer-Id')).toBe(t.backend.demo.customers.sato.id);
      agent.reply(invite, 180, 'Ringing');
      agent.reply(invite, 200, 'OK', { sdp: webRtcLikeSdp('answer') });
      await agent.waitForRequest('ACK');
      expect((await agent.bye(agent.dialogOfIncoming(invite))).status).toBe(200);
      expect(await exited, output).toBe(0);
      expect(output).toContain('keying in 0002# to the IVR');
      expect(output).toContain('answered; the agent hung up');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('leaves callers with a number alone', async () => {
    const agent = await registeredAgent('agent-ivr-3');
    const before = (await ivrAudit()).length;
    const sipp = await runSipp({
      scenario: SIPP_SCENARIOS.trunkCall,
      target: `127.0.0.1:${pbx.udpPort}`,
      service: 'agent-ivr-3',
      keys: { caller: '0398765432' },
      logDir: workDir,
    });
    try {
      const invite = await agent.waitForRequest('INVITE');
      expect(headerValue(invite, 'X-Customer-Id')).toBeUndefined();
      agent.reply(invite, 486, 'Busy Here');
      await sipp.done;
    } finally {
      sipp.kill();
    }
    expect(await ivrAudit()).toHaveLength(before);
  });

  it('routes the caller on without the IVR when the media UA is gone', async () => {
    const agent = await registeredAgent('agent-ivr-5');
    await pbx.stopMediaUa();
    const caller = await UdpSipCaller.open();
    callers.push(caller);
    caller.invite({ port: pbx.udpPort, requestUri: `sip:agent-ivr-5@127.0.0.1:${pbx.udpPort}` });
    // Kamailio gives the UA 2 s to answer 100; an ordinary branch would wait 30 s, past this wait.
    const invite = await agent.waitForRequest('INVITE', 15_000);
    expect(headerValue(invite, 'X-Customer-Id')).toBeUndefined();
    agent.reply(invite, 486, 'Busy Here');
    const final = await caller.finalReply();
    caller.ackFailure(final);
    expect(final.status).toBe(486);
  });
});

/**
 * The same IVR for a call to a queue number, where Kamailio asks the backend whom to ring: the
 * customer the IVR found goes into that question, and the operator it picks gets the header.
 */
describe('IVR before the backend routes a queue call', () => {
  const QUEUE = '0120555000';
  let t: TelephonyBackend;
  let pbx: TestPbx;
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'tsunagu-ivr-queue-'));
    t = await startTelephonyBackend('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    if (!address || typeof address === 'string') throw new Error('backend has no TCP address');
    pbx = await startTestPbx({
      cti: {
        backendUrl: `http://127.0.0.1:${address.port}`,
        token: t.ctiToken,
        tenants: ['demo'],
        queues: [{ number: QUEUE, tenant: 'demo', fallback: ['nobody.demo'], ringSeconds: 10 }],
        promptsDir: path.join(workDir, 'media-ua'),
      },
    });
  });
  afterAll(async () => {
    await pbx?.stop();
    await t?.dispose();
    await rm(workDir, { recursive: true, force: true });
  });

  it('routes with the customer the IVR found, to the operator the backend picks', async () => {
    const { user, token } = await t.addAgent({ login: 'ivr-op' });
    await t.setStatus(token, 'available');
    const operator = await RawSipClient.connect(pbx.wsUrl, { user: 'ivr-op.demo' });
    const caller = await UdpSipCaller.open();
    try {
      const credentials = issueSipCredentials({ secret: pbx.secret, user: 'ivr-op.demo', ttlSeconds: 300, now: new Date() });
      expect((await operator.register({ credentials })).status).toBe(200);
      caller.invite({ port: pbx.udpPort, requestUri: `sip:${QUEUE}@127.0.0.1:${pbx.udpPort}` });
      await caller.earlyMedia(15_000);
      await caller.pressKeys('0001#');
      const invite = await operator.waitForRequest('INVITE', 20_000);
      expect(headerValue(invite, 'X-Customer-Id')).toBe(t.backend.demo.customers.yamada.id);
      operator.reply(invite, 486, 'Busy Here');
      const routed = await t.backend.handle.db
        .selectFrom('audit_events')
        .select(['user_id', 'customer_id', 'details'])
        .where('action', '=', 'call_routed')
        .execute();
      const decision = routed.find((row) => (JSON.parse(row.details) as { callId?: string }).callId === caller.callId);
      expect(decision).toMatchObject({ user_id: user.id, customer_id: t.backend.demo.customers.yamada.id });
    } finally {
      caller.close();
      await operator.close();
    }
  });
});
