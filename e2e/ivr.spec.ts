import { expect, test, type Browser, type Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort } from '../pbx/test-support/free-port.js';
import { runSipp, SIPP_SCENARIOS, withDtmfKeys } from '../pbx/test-support/sipp.js';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { launchWithMicrophone, makeToneWav, openAgentApp } from './support/phone.js';
import { stopAll } from './support/processes.js';
import { removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * A caller who withholds their number goes through the dev PBX's IVR (pbx/media-ua/): Kamailio
 * sends the call to the media UA, which plays the prompt as early media through rtpengine; the
 * caller (SIPp) keys in the customer number as RFC 4733 events; the UA checks it with this
 * stack's backend over the CTI routes; Kamailio then rings the operator with the customer id,
 * and the operator's screen pops that customer although the call has no number.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const DOMAIN = '127.0.0.1';
const AGENT1 = tenantSipUser('agent1', 'demo')!;

let pbx: TestPbx;
let stack: Stack;
let workDir: string;
let agentBrowser: Browser;
let agent: Page;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-ivr-'));
  const agentWav = await makeToneWav(path.join(workDir, 'agent-440hz.wav'), 440);
  // The stack's backend must know the PBX's secret and WebSocket before the PBX can know the
  // backend's URL and CTI token, so the PBX's secret and port are chosen first.
  const secret = randomBytes(24).toString('hex');
  const wsPort = await freeTcpPort();
  stack = await startStack({ customers: 300, sip: { secret, wsUrl: `ws://127.0.0.1:${wsPort}`, domain: DOMAIN } });
  pbx = await startTestPbx({
    secret,
    wsPort,
    mediaUa: { backendUrl: stack.backendUrl, ctiToken: stack.cti.token, ivrTenant: 'demo', dataDir: path.join(workDir, 'media-ua') },
  });
  agentBrowser = await launchWithMicrophone(agentWav);
  ({ page: agent } = await openAgentApp(agentBrowser, stack.shellUrl, 'agent1', 'agent1-pass'));
});

test.afterAll(async () => {
  await agentBrowser?.close();
  await stopAll();
  await pbx?.stop();
  removeStackDir(stack);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

function callCard(page: Page, state?: string) {
  const cards = page.getByTestId('call-card');
  return state ? cards.and(page.locator(`[data-state="${state}"]`)) : cards;
}

test('an anonymous caller keys in their customer number and the operator sees that customer', async () => {
  const [who] = stack.query<{ id: string; code: string }>(
    `select c.id, c.code from customers c join tenants t on t.id = c.tenant_id and t.slug = 'demo'
      where c.classification = 3 order by c.code limit 1 offset 5`,
  );
  if (!who) throw new Error('the seed has no class-3 customer');
  const keyed = who.code.replace(/\D/g, '');
  const scenario = path.join(workDir, 'anonymous.xml');
  fs.writeFileSync(scenario, withDtmfKeys(fs.readFileSync(SIPP_SCENARIOS.anonymousCall, 'utf8'), `${keyed}#`));
  const sipp = await runSipp({ scenario, target: `127.0.0.1:${pbx.udpPort}`, service: AGENT1, logDir: workDir, timeoutSeconds: 90 });
  try {
    const card = callCard(agent, 'ringing');
    await expect(card.getByTestId('screen-pop')).toHaveAttribute('data-phase', 'found', { timeout: 30_000 });
    await expect(card.getByTestId('screen-pop-customer-code')).toHaveText(who.code);
    await card.getByRole('button', { name: 'Answer' }).click();
    await expect(callCard(agent)).toHaveAttribute('data-state', 'connected');
    await callCard(agent).getByRole('button', { name: 'Hang up' }).click();
    const result = await sipp.done;
    expect(result.errors).toBe('');
    expect(result.messages).toMatch(/SIP\/2\.0 183 Session Progress/);
  } finally {
    sipp.kill();
  }
  const audit = stack.query<{ customer_id: string; details: string }>(
    `select customer_id, details from audit_events where action = 'ivr_customer_checked' order by id`,
  );
  expect(audit.map((row) => row.customer_id)).toEqual([who.id]);
  expect(JSON.parse(audit[0]?.details ?? '{}')).toMatchObject({ pbx: 'dev-pbx', outcome: 'found', try: 1 });
});
