import { expect, test, type Browser, type Page } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RawTrunk } from '../pbx/test-support/raw-trunk.js';
import { headerValue } from '../pbx/sip-message.js';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { RING_BACKSTOP_MS } from '../renderer/src/phone/ring-backstop.js';
import { launchWithMicrophone, makeToneWav, openAgentApp } from './support/phone.js';
import { stopAll } from './support/processes.js';
import { removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * Unusual INVITEs sent by a raw trunk through a real Kamailio to the real app: none leaves the
 * caller waiting. A tel: caller rings with their display name and stops ringing on CANCEL; a
 * request the app's SIP stack cannot parse is answered 400 by the app at once, not after the
 * PBX's timeout.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

let pbx: TestPbx;
let stack: Stack;
let workDir: string;
let agentBrowser: Browser;
let agent: Page;
let trunk: RawTrunk;
let agentUser: string;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-signalling-'));
  const agentWav = await makeToneWav(path.join(workDir, 'agent-440hz.wav'), 440);
  pbx = await startTestPbx();
  stack = await startStack({ customers: 20, sip: { secret: pbx.secret, wsUrl: pbx.wsUrl, domain: '127.0.0.1' } });
  agentBrowser = await launchWithMicrophone(agentWav);
  ({ page: agent } = await openAgentApp(agentBrowser, stack.shellUrl, 'agent1', 'agent1-pass'));
  trunk = await RawTrunk.open(pbx.udpPort);
  agentUser = tenantSipUser('agent1', 'demo')!;
});

test.afterAll(async () => {
  trunk?.close();
  await agentBrowser?.close();
  await stopAll();
  await pbx?.stop();
  removeStackDir(stack);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test('a tel: caller rings with their display name, and stops ringing when the caller gives up', async () => {
  const call = trunk.invite(agentUser, { from: '"Tanaka Ichiro" <tel:+81-3-1234-5678>' });
  const ringing = agent.getByTestId('call-card').and(agent.locator('[data-state="ringing"]'));
  await expect(ringing).toBeVisible();
  await expect(ringing).toContainText('Tanaka Ichiro');
  await expect(ringing).toContainText('03-1234-5678');
  call.cancel();
  expect((await call.final).status).toBe(487);
  await expect(agent.getByTestId('call-card')).toHaveCount(0);
});

test('an INVITE the app cannot parse is answered 400 by the app at once, and nothing rings', async () => {
  // Kamailio relays a tel: To untouched; sip.js cannot parse it and used to drop the INVITE.
  const call = trunk.invite(agentUser, { from: '<sip:0312345678@127.0.0.1>', to: '<tel:+81-3-9999-0000>' });
  const final = await call.final;
  expect(final.status).toBe(400);
  // From the app, not the proxy: Kamailio's own replies carry its Server header.
  expect(headerValue(final, 'Server')).toBeUndefined();
  await expect(agent.getByTestId('call-card')).toHaveCount(0);

  // The phone is still fine: the next ordinary call rings.
  const next = trunk.invite(agentUser, { from: '"Sato" <sip:0311112222@127.0.0.1>' });
  await expect(agent.getByTestId('call-card').and(agent.locator('[data-state="ringing"]'))).toContainText('Sato');
  next.cancel();
  expect((await next.final).status).toBe(487);
});

test('a call nobody cancels stops ringing after the phone\'s own backstop, answered 480, and is a missed call', async () => {
  // The PBX's INVITE timer (90 s) is longer than the phone's backstop, so only the app can end it.
  test.setTimeout(RING_BACKSTOP_MS + 60_000);
  const call = trunk.invite(agentUser, { from: '"Forgotten" <sip:0399990001@127.0.0.1>', finalTimeoutMs: RING_BACKSTOP_MS + 20_000 });
  await expect(agent.getByTestId('call-card').and(agent.locator('[data-state="ringing"]'))).toContainText('Forgotten');
  const final = await call.final;
  expect(final.status).toBe(480);
  await expect(agent.getByTestId('call-card')).toHaveCount(0);
  await expect(agent.getByTestId('missed-notice')).toContainText('03-9999-0001');
});
