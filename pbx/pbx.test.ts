import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFile, stat } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueSipCredentials } from './credentials.js';
import { parsePbxOptions, probeSipOptions } from './pbx.js';
import { ngRequest, type Bencoded } from './rtpengine-ng.js';
import { freeUdpPort } from './test-support/free-port.js';
import { RawSipClient, webRtcLikeSdp, type Credentials } from './test-support/raw-sip-client.js';
import { headerParam, headerValue, parseSipMessage, type SipMessage } from './sip-message.js';
import { runSipp, SIPP_SCENARIOS } from './test-support/sipp.js';
import { startTestPbx, type TestPbx } from './test-support/test-pbx.js';
import { waitFor } from './test-support/wait.js';

function credentialsFor(pbx: TestPbx, user: string, now = new Date(), ttlSeconds = 300): Credentials {
  return issueSipCredentials({ secret: pbx.secret, user, ttlSeconds, now });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SDP that rtpengine produced for a WebRTC leg: DTLS-SRTP with ICE, rtcp-mux and a mid. */
function expectWebRtcSdp(sdp: string): void {
  expect(sdp).toMatch(/^m=audio \d+ (UDP\/TLS\/)?RTP\/SAVPF /m);
  expect(sdp).toMatch(/^a=fingerprint:/m);
  expect(sdp).toMatch(/^a=ice-ufrag:/m);
  expect(sdp).toMatch(/^a=candidate:/m);
  expect(sdp).toMatch(/^a=rtcp-mux/m);
  expect(sdp).toMatch(/^a=mid:/m);
  expect(sdp).not.toMatch(/^a=crypto:/m);
}

function dict(value: Bencoded | undefined): { [key: string]: Bencoded } | undefined {
  return typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

function list(value: Bencoded | undefined): Bencoded[] {
  return Array.isArray(value) ? value : [];
}

/** RTP packets rtpengine has received from the leg with that tag, from an ng "query". */
async function rtpPacketsReceivedFrom(ngPort: number, callId: string, tag: string): Promise<number> {
  const reply = await ngRequest(ngPort, { command: 'query', 'call-id': callId });
  const leg = dict(dict(reply?.tags)?.[tag]);
  let packets = 0;
  for (const media of list(leg?.medias)) {
    for (const stream of list(dict(media)?.streams)) {
      const count = dict(dict(stream)?.stats)?.packets;
      if (typeof count === 'number') packets += count;
    }
  }
  return packets;
}

/** Sends one INVITE over UDP like a trunk would and returns the final response. */
async function trunkInvite(udpPort: number, target: string): Promise<SipMessage> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const localPort = socket.address().port;
  const id = randomBytes(8).toString('hex');
  const common = [
    `From: <sip:0311112222@127.0.0.1:${localPort}>;tag=${id}`,
    `Call-ID: ${id}@127.0.0.1`,
    'Max-Forwards: 70',
  ];
  const via = `Via: SIP/2.0/UDP 127.0.0.1:${localPort};branch=z9hG4bK${id};rport`;
  const send = (text: string): void => {
    socket.send(text, udpPort, '127.0.0.1');
  };
  try {
    const final = new Promise<SipMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no final response from the PBX')), 10_000);
      socket.on('message', (data) => {
        const message = parseSipMessage(data.toString('utf8'));
        if (message.kind === 'response' && message.status >= 200) {
          clearTimeout(timer);
          resolve(message);
        }
      });
    });
    send(
      [`INVITE ${target} SIP/2.0`, via, ...common, `To: <${target}>`, 'CSeq: 1 INVITE', `Contact: <sip:trunk@127.0.0.1:${localPort}>`, 'Content-Length: 0', '', ''].join('\r\n'),
    );
    const response = await final;
    send(
      [`ACK ${target} SIP/2.0`, via, ...common, `To: ${headerValue(response, 'To') ?? ''}`, 'CSeq: 1 ACK', 'Content-Length: 0', '', ''].join('\r\n'),
    );
    return response;
  } finally {
    socket.close();
  }
}

describe('PBX options', () => {
  it('names the field that is wrong', () => {
    expect(() => parsePbxOptions({ runtimeDir: '/tmp/x', secret: 'short' })).toThrow(/secret/);
    expect(() => parsePbxOptions({ runtimeDir: '/tmp/x', secret: 'a"b'.repeat(8) })).toThrow(/secret/);
    expect(() => parsePbxOptions({ runtimeDir: '/tmp/x', secret: 'x'.repeat(20), wsPort: 70000 })).toThrow(/wsPort/);
    expect(() => parsePbxOptions({ runtimeDir: '/tmp/x', secret: 'x'.repeat(20), customerIdHeader: 'X-Id\r\nEvil: 1' })).toThrow(
      /customerIdHeader/,
    );
    expect(() => parsePbxOptions({ runtimeDir: '/tmp/x', secret: 'x'.repeat(20), kamailioLogLevel: 3 })).toThrow(/kamailioLogLevel/);
  });
});

describe('dev PBX (Kamailio + rtpengine)', () => {
  let pbx: TestPbx;
  let uasPort: number;
  const clients: RawSipClient[] = [];

  async function connect(user: string): Promise<RawSipClient> {
    const client = await RawSipClient.connect(pbx.wsUrl, { user });
    clients.push(client);
    return client;
  }

  async function registeredAgent(user: string): Promise<RawSipClient> {
    const agent = await connect(user);
    const response = await agent.register({ credentials: credentialsFor(pbx, user) });
    expect(response.status).toBe(200);
    return agent;
  }

  /** The agent answers like a browser would, waits for the ACK and hangs up. */
  async function answerAndHangUp(agent: RawSipClient, invite: SipMessage, whileConnected?: () => Promise<void>): Promise<void> {
    agent.reply(invite, 180, 'Ringing');
    agent.reply(invite, 200, 'OK', { sdp: webRtcLikeSdp('answer') });
    await agent.waitForRequest('ACK');
    await whileConnected?.();
    const bye = await agent.bye(agent.dialogOfIncoming(invite));
    expect(bye.status).toBe(200);
  }

  beforeAll(async () => {
    uasPort = await freeUdpPort();
    pbx = await startTestPbx({ outboundTrunk: `sip:127.0.0.1:${uasPort}` });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    const pids = pbx.pids();
    await pbx.stop();
    for (const pid of [pids.kamailio, pids.rtpengine]) {
      if (pid !== undefined) expect(isAlive(pid)).toBe(false);
    }
  });

  it('answers OPTIONS on the trunk side and keeps the secret out of logs and readable files', async () => {
    expect(await probeSipOptions(pbx.udpPort)).toBe(true);
    const config = await stat(`${pbx.runtimeDir}/kamailio.cfg`);
    expect(config.mode & 0o077).toBe(0);
    // A REGISTER round trip, so that authentication has logged whatever it logs.
    await registeredAgent('log-check');
    for (const log of Object.values(pbx.logFiles)) {
      expect(await readFile(log, 'utf8')).not.toContain(pbx.secret);
    }
  });

  describe('REGISTER over WebSocket', () => {
    it('challenges a REGISTER without credentials with 401', async () => {
      const agent = await connect('agent-a0');
      const response = await agent.register();
      expect(response.status).toBe(401);
      expect(headerValue(response, 'WWW-Authenticate')).toMatch(/^Digest /);
    });

    it('accepts valid ephemeral credentials and records the WebSocket contact', async () => {
      const agent = await connect('agent-a');
      const response = await agent.register({ credentials: credentialsFor(pbx, 'agent-a') });
      expect(response.status).toBe(200);
      expect(headerValue(response, 'Contact')).toContain(agent.contactUri.split(';')[0]);
    });

    it('refuses expired credentials', async () => {
      const agent = await connect('agent-a');
      const issuedAnHourAgo = credentialsFor(pbx, 'agent-a', new Date(Date.now() - 3600_000), 60);
      const response = await agent.register({ credentials: issuedAnHourAgo });
      expect(response.status).toBe(403);
    });

    it('refuses credentials made with another secret', async () => {
      const agent = await connect('agent-a');
      const forged = issueSipCredentials({ secret: 'not-the-pbx-secret-123', user: 'agent-a', ttlSeconds: 300, now: new Date() });
      expect((await agent.register({ credentials: forged })).status).toBe(403);
    });

    it("refuses one user's credentials for another user's registration", async () => {
      const agent = await connect('agent-a');
      expect((await agent.register({ credentials: credentialsFor(pbx, 'agent-b') })).status).toBe(403);
    });
  });

  describe('calls from the UDP trunk side', () => {
    it('keeps the IVR identity headers and bridges plain RTP to a WebRTC leg', async () => {
      const agent = await registeredAgent('agent-ivr');
      const sipp = await runSipp({
        scenario: SIPP_SCENARIOS.ivrCall,
        target: `127.0.0.1:${pbx.udpPort}`,
        service: 'agent-ivr',
        keys: { caller: '0312345678', customer_id: 'cust-42' },
        logDir: pbx.runtimeDir,
      });
      try {
        const invite = await agent.waitForRequest('INVITE');
        expect(headerValue(invite, 'P-Asserted-Identity')).toMatch(/^"IVR caller" <sip:0312345678@127\.0\.0\.1>$/);
        expect(headerValue(invite, 'X-Customer-Id')).toBe('cust-42');
        expectWebRtcSdp(invite.body);
        await answerAndHangUp(agent, invite, async () => {
          // SIPp's RTP reaches rtpengine on the port rtpengine offered the trunk.
          const callId = headerValue(invite, 'Call-ID') ?? '';
          const trunkTag = headerParam(headerValue(invite, 'From') ?? '', 'tag') ?? '';
          await waitFor(() => rtpPacketsReceivedFrom(pbx.rtpengineNgPort, callId, trunkTag), (n) => n > 0, 'RTP from SIPp at rtpengine');
        });
        const result = await sipp.done;
        // The scenario itself checks that the answer it got offers plain RTP/AVP.
        expect(result.errors).toBe('');
        expect(result.exitCode).toBe(0);
        expect(result.messages).toMatch(/m=audio \d+ RTP\/AVP /);
      } finally {
        sipp.kill();
      }
    });

    it('asserts the From user as P-Asserted-Identity when the trunk sends none', async () => {
      const agent = await registeredAgent('agent-trunk');
      const sipp = await runSipp({
        scenario: SIPP_SCENARIOS.trunkCall,
        target: `127.0.0.1:${pbx.udpPort}`,
        service: 'agent-trunk',
        keys: { caller: '0398765432' },
        logDir: pbx.runtimeDir,
      });
      try {
        const invite = await agent.waitForRequest('INVITE');
        expect(headerValue(invite, 'P-Asserted-Identity')).toBe('<sip:0398765432@127.0.0.1>');
        expect(headerValue(invite, 'X-Customer-Id')).toBeUndefined();
        await answerAndHangUp(agent, invite);
        expect((await sipp.done).exitCode).toBe(0);
      } finally {
        sipp.kill();
      }
    });

    it('answers 480 for an agent who is not registered', async () => {
      const response = await trunkInvite(pbx.udpPort, `sip:nobody-here@127.0.0.1:${pbx.udpPort}`);
      expect(response.status).toBe(480);
    });

    it('answers 480 for an agent whose WebSocket has closed, though the registration had not expired', async () => {
      const agent = await registeredAgent('agent-gone');
      await agent.close();
      const response = await trunkInvite(pbx.udpPort, `sip:agent-gone@127.0.0.1:${pbx.udpPort}`);
      expect(response.status).toBe(480);
    });
  });

  describe('calls from WebSocket clients', () => {
    it('requires proxy authentication for an INVITE', async () => {
      await registeredAgent('agent-callee-1');
      const caller = await connect('caller-1');
      const call = await caller.invite('sip:agent-callee-1@tsunagu.test', { sdp: webRtcLikeSdp('offer') });
      expect(call.response.status).toBe(407);
      expect(headerValue(call.response, 'Proxy-Authenticate')).toMatch(/^Digest /);
    });

    it('removes a forged P-Asserted-Identity and customer id before the callee sees them', async () => {
      const callee = await registeredAgent('agent-callee-2');
      const caller = await connect('caller-2');
      const calling = caller.invite('sip:agent-callee-2@tsunagu.test', {
        credentials: credentialsFor(pbx, 'caller-2'),
        sdp: webRtcLikeSdp('offer'),
        headers: [
          { name: 'P-Asserted-Identity', value: '<sip:+81300000000@tsunagu.test>' },
          { name: 'P-Preferred-Identity', value: '<sip:+81300000000@tsunagu.test>' },
          { name: 'x-customer-id', value: 'cust-999' },
        ],
      });
      const invite = await callee.waitForRequest('INVITE');
      expect(headerValue(invite, 'P-Asserted-Identity')).toBeUndefined();
      expect(headerValue(invite, 'P-Preferred-Identity')).toBeUndefined();
      expect(headerValue(invite, 'X-Customer-Id')).toBeUndefined();
      expect(headerValue(invite, 'From')).toContain('sip:caller-2@tsunagu.test');
      expect(headerValue(invite, 'Proxy-Authorization')).toBeUndefined();
      expectWebRtcSdp(invite.body);
      callee.reply(invite, 486, 'Busy Here');
      expect((await calling).response.status).toBe(486);
    });

    it('refuses a From user that does not match the credentials', async () => {
      await registeredAgent('agent-callee-3');
      const caller = await connect('caller-3');
      const call = await caller.invite('sip:agent-callee-3@tsunagu.test', {
        credentials: credentialsFor(pbx, 'caller-3'),
        fromUser: 'agent-boss',
        sdp: webRtcLikeSdp('offer'),
      });
      expect(call.response.status).toBe(403);
    });

    it('sends calls to numbers nobody registered to the outbound trunk, bridging WebRTC to plain RTP', async () => {
      const callee = await runSipp({ scenario: SIPP_SCENARIOS.trunkAnswer, localPort: uasPort, logDir: pbx.runtimeDir });
      try {
        const agent = await registeredAgent('agent-out');
        const call = await agent.invite('sip:0399990000@tsunagu.test', {
          credentials: credentialsFor(pbx, 'agent-out'),
          sdp: webRtcLikeSdp('offer'),
        });
        expect(call.response.status).toBe(200);
        expectWebRtcSdp(call.response.body);
        if (!call.dialog) throw new Error('no dialog from a 2xx');
        agent.ack(call.dialog);
        expect((await agent.bye(call.dialog)).status).toBe(200);
        const result = await callee.done;
        expect(result.errors).toBe('');
        expect(result.exitCode).toBe(0);
        // What reached the trunk was plain RTP, without WebRTC attributes (the
        // scenario checked RTP/AVP itself).
        const offer = result.messages.slice(result.messages.indexOf('INVITE sip:0399990000'));
        expect(offer.slice(0, offer.indexOf('SIP/2.0 180'))).not.toMatch(/a=fingerprint|a=ice-ufrag|a=candidate/);
      } finally {
        callee.kill();
      }
    });
  });
});

describe('dev PBX lifecycle', () => {
  it('restarts Kamailio on the same ports, forgets registrations, and stops leaving no process', async () => {
    const pbx = await startTestPbx();
    try {
      const before = await RawSipClient.connect(pbx.wsUrl, { user: 'agent-r' });
      const credentials = credentialsFor(pbx, 'agent-r');
      expect((await before.register({ credentials })).status).toBe(200);
      const oldPid = pbx.pids().kamailio;
      await pbx.stopKamailio();
      await before.closed;
      expect(pbx.pids().kamailio).toBeUndefined();
      if (oldPid !== undefined) expect(isAlive(oldPid)).toBe(false);

      await pbx.startKamailio();
      expect(await trunkInvite(pbx.udpPort, `sip:agent-r@127.0.0.1:${pbx.udpPort}`)).toMatchObject({ status: 480 });
      const after = await RawSipClient.connect(pbx.wsUrl, { user: 'agent-r' });
      expect((await after.register({ credentials })).status).toBe(200);
      await after.close();
    } finally {
      const pids = pbx.pids();
      await pbx.stop();
      for (const pid of [pids.kamailio, pids.rtpengine]) {
        if (pid !== undefined) {
          expect(isAlive(pid)).toBe(false);
          // Kamailio's workers share its process group.
          expect(() => process.kill(-pid, 0)).toThrow();
        }
      }
    }
  });
});
