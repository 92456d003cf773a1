import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueSipCredentials } from './credentials.js';
import { RawSipClient } from './test-support/raw-sip-client.js';
import { RawTrunk } from './test-support/raw-trunk.js';
import { headerValue, type SipMessage } from './sip-message.js';
import { startTestPbx, type TestPbx } from './test-support/test-pbx.js';

/**
 * Unusual and malformed INVITEs from the trunk side to a registered agent: the proxy answers
 * what is malformed itself, and rewrites what the agent's phone could not parse.
 */
describe('signalling that never leaves a caller hanging', () => {
  let pbx: TestPbx;
  let trunk: RawTrunk;
  const clients: RawSipClient[] = [];

  async function registeredAgent(user: string): Promise<RawSipClient> {
    const agent = await RawSipClient.connect(pbx.wsUrl, { user });
    clients.push(agent);
    const credentials = issueSipCredentials({ secret: pbx.secret, user, ttlSeconds: 300, now: new Date() });
    expect((await agent.register({ credentials })).status).toBe(200);
    return agent;
  }

  /** The next INVITE the agent sees; its Call-ID tells which call it belongs to. */
  async function nextInvite(agent: RawSipClient): Promise<SipMessage> {
    return agent.waitForRequest('INVITE');
  }

  /** A refused request never reached the agent: the next INVITE it sees is a later, normal one. */
  async function expectAgentSawNothingBefore(agent: RawSipClient, extension: string): Promise<void> {
    const probe = trunk.invite(extension, { from: '<sip:0311110000@127.0.0.1>' });
    const invite = await nextInvite(agent);
    expect(headerValue(invite, 'Call-ID')).toBe(probe.callId);
    agent.reply(invite, 486, 'Busy Here');
    expect((await probe.final).status).toBe(486);
  }

  beforeAll(async () => {
    pbx = await startTestPbx();
    trunk = await RawTrunk.open(pbx.udpPort);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    trunk.close();
    await pbx.stop();
  });

  it('rewrites a tel: caller into a SIP URI with the display name, and restores the From for the caller', async () => {
    const agent = await registeredAgent('sig-tel');
    const call = trunk.invite('sig-tel', { from: '"Tanaka Ichiro" <tel:+81-3-1234-5678>' });
    const invite = await nextInvite(agent);
    expect(headerValue(invite, 'From')).toMatch(/^"Tanaka Ichiro" <sip:\+81312345678@127\.0\.0\.1;user=phone>;tag=/);
    expect(headerValue(invite, 'P-Asserted-Identity')).toBe('"Tanaka Ichiro" <sip:+81312345678@127.0.0.1;user=phone>');
    agent.reply(invite, 486, 'Busy Here');
    const final = await call.final;
    expect(final.status).toBe(486);
    expect(headerValue(final, 'From')).toContain('<tel:+81-3-1234-5678>');
  });

  it('rewrites a tel: P-Asserted-Identity from the trunk, keeping its display name', async () => {
    const agent = await registeredAgent('sig-tel-pai');
    const call = trunk.invite('sig-tel-pai', {
      from: '<sip:anonymous@anonymous.invalid>',
      headers: ['P-Asserted-Identity: "Sato Hanako" <tel:+81-90-1111-2222;phone-context=+81>'],
    });
    const invite = await nextInvite(agent);
    expect(headerValue(invite, 'P-Asserted-Identity')).toBe('"Sato Hanako" <sip:+819011112222@127.0.0.1;user=phone>');
    agent.reply(invite, 486, 'Busy Here');
    expect((await call.final).status).toBe(486);
  });

  it("keeps the caller's display name, Japanese included, in the P-Asserted-Identity it generates", async () => {
    const agent = await registeredAgent('sig-name');
    const call = trunk.invite('sig-name', { from: '"山田 太郎" <sip:0311112222@127.0.0.1>' });
    const invite = await nextInvite(agent);
    expect(headerValue(invite, 'P-Asserted-Identity')).toBe('"山田 太郎" <sip:0311112222@127.0.0.1>');
    agent.reply(invite, 486, 'Busy Here');
    expect((await call.final).status).toBe(486);
  });

  it('answers 400 to a raw non-ASCII From user part and never rings the agent', async () => {
    const agent = await registeredAgent('sig-utf8');
    const final = await trunk.invite('sig-utf8', { from: '<sip:山田@127.0.0.1>' }).final;
    expect(final.status).toBe(400);
    expect(final.reason).toMatch(/From/);
    await expectAgentSawNothingBefore(agent, 'sig-utf8');
  });

  it('answers 420 with Unsupported to an unknown Require tag, and lets a supported one through', async () => {
    const agent = await registeredAgent('sig-require');
    const final = await trunk.invite('sig-require', { from: '<sip:0311113333@127.0.0.1>', headers: ['Require: replaces, x-teleport'] }).final;
    expect(final.status).toBe(420);
    expect(headerValue(final, 'Unsupported')).toBe('x-teleport');
    await expectAgentSawNothingBefore(agent, 'sig-require');

    const supported = trunk.invite('sig-require', { from: '<sip:0311113333@127.0.0.1>', headers: ['Require: 100rel'] });
    const invite = await nextInvite(agent);
    expect(headerValue(invite, 'Call-ID')).toBe(supported.callId);
    agent.reply(invite, 486, 'Busy Here');
    expect((await supported.final).status).toBe(486);
  });

  it('answers 420 with Unsupported to any Proxy-Require tag', async () => {
    const agent = await registeredAgent('sig-proxy-require');
    const final = await trunk.invite('sig-proxy-require', { from: '<sip:0311114444@127.0.0.1>', headers: ['Proxy-Require: x-priority-lane'] }).final;
    expect(final.status).toBe(420);
    expect(headerValue(final, 'Unsupported')).toBe('x-priority-lane');
    await expectAgentSawNothingBefore(agent, 'sig-proxy-require');
  });

  it('answers 416 to a Request-URI scheme it does not route', async () => {
    const agent = await registeredAgent('sig-scheme');
    const final = await trunk.invite('sig-scheme', { from: '<sip:0311115555@127.0.0.1>', requestUri: 'im:sig-scheme@127.0.0.1' }).final;
    expect(final.status).toBe(416);
    await expectAgentSawNothingBefore(agent, 'sig-scheme');
  });

  it('answers 400 to a malformed CSeq', async () => {
    const agent = await registeredAgent('sig-cseq');
    const final = await trunk.invite('sig-cseq', { from: '<sip:0311116666@127.0.0.1>', cseq: 'one INVITE' }).final;
    expect(final.status).toBe(400);
    await expectAgentSawNothingBefore(agent, 'sig-cseq');
  });
});
