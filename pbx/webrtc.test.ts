/**
 * Real WebRTC through the dev PBX: sip.js in Debian's headless Chromium, SIPp with
 * plain RTP on the trunk side, rtpengine in between. Audio counts as heard when the
 * receiving side's played-out track has energy above zero.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSipCredentials } from './credentials.js';
import { freeUdpPort } from './test-support/free-port.js';
import { runSipp, SIPP_SCENARIOS } from './test-support/sipp.js';
import { startTestPbx, type TestPbx } from './test-support/test-pbx.js';
import { waitFor } from './test-support/wait.js';
import { launchAgentBrowser, type AgentBrowser, type AgentPage } from './test-support/webrtc-agent.js';

describe('WebRTC media through Kamailio and rtpengine', () => {
  let pbx: TestPbx;
  let browser: AgentBrowser;
  let trunkPort: number;

  beforeAll(async () => {
    trunkPort = await freeUdpPort();
    pbx = await startTestPbx({ outboundTrunk: `sip:127.0.0.1:${trunkPort}` });
    browser = await launchAgentBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await pbx?.stop();
  });

  function openAgent(user: string): Promise<AgentPage> {
    const credentials = issueSipCredentials({ secret: pbx.secret, user, ttlSeconds: 600, now: new Date() });
    return browser.openAgent({ user, wsUrl: pbx.wsUrl, credentials });
  }

  function hearsAudio(agent: AgentPage): Promise<unknown> {
    return waitFor(() => agent.inboundAudio(), (audio) => audio.packets > 0 && audio.energy > 0, `audio at ${agent.user}`);
  }

  it("carries a trunk caller's plain RTP to a browser agent, with the IVR headers", async () => {
    const agent = await openAgent('media-agent-1');
    const caller = await runSipp({
      scenario: SIPP_SCENARIOS.ivrCall,
      target: `127.0.0.1:${pbx.udpPort}`,
      service: agent.user,
      keys: { caller: '0312345678', customer_id: 'cust-7' },
      logDir: pbx.runtimeDir,
    });
    try {
      await waitFor(() => agent.snapshot(), (s) => s.session === 'Established', 'the agent to answer');
      expect((await agent.snapshot()).invites).toEqual([
        { assertedIdentity: '"IVR caller" <sip:0312345678@127.0.0.1>', customerId: 'cust-7' },
      ]);
      await hearsAudio(agent);
      await agent.hangUp();
      const result = await caller.done;
      expect(result.errors).toBe('');
      expect(result.exitCode).toBe(0);
    } finally {
      caller.kill();
    }
  });

  it('connects two browser agents with audio both ways', async () => {
    const alice = await openAgent('media-agent-2');
    const bob = await openAgent('media-agent-3');
    await alice.call(`sip:${bob.user}@tsunagu.test`);
    await waitFor(() => alice.snapshot(), (s) => s.session === 'Established', 'the call to be answered');
    await Promise.all([hearsAudio(alice), hearsAudio(bob)]);
    expect((await bob.snapshot()).invites).toEqual([{ assertedIdentity: null, customerId: null }]);
    await alice.hangUp();
    await waitFor(() => bob.snapshot(), (s) => s.session === 'Terminated', 'the callee to see the hang-up');
  });

  it("sends a browser agent's outbound call to the trunk, and the agent hears the callee", async () => {
    const agent = await openAgent('media-agent-4');
    const callee = await runSipp({ scenario: SIPP_SCENARIOS.trunkAnswer, localPort: trunkPort, logDir: pbx.runtimeDir });
    try {
      await agent.call('sip:0399990000@tsunagu.test');
      await waitFor(() => agent.snapshot(), (s) => s.session === 'Established', 'the trunk to answer');
      await hearsAudio(agent);
      await agent.hangUp();
      const result = await callee.done;
      expect(result.errors).toBe('');
      expect(result.exitCode).toBe(0);
    } finally {
      callee.kill();
    }
  });
});
