import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { MONITOR_HEADER } from '../shared/monitoring.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { expectAudioFlowing, launchCallers, launchWithMicrophone, makeToneWav, openAgentApp, type CallerBrowser, type CallerPage } from './support/phone.js';
import { stopAll } from './support/processes.js';
import { removeStackDir, startStack, type Stack } from './support/stack.js';
import { expectNoTone, expectTone, expectToneStops, TONE_ABSENT, toneAmplitudes } from './support/tones.js';

/**
 * Live monitoring (issue 11) with real media: Kamailio + rtpengine from pbx/, three Chromium
 * instances whose fake microphones play distinct tones (customer 330 Hz, operator 440 Hz,
 * supervisor 620 Hz). The supervisor's app calls the operator's app with the session id in
 * X-Tsunagu-Monitor; the operator's app verifies it with the backend and mixes with WebAudio.
 * Who hears whom is measured with a tone detector on what each peer connection receives.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const DOMAIN = '127.0.0.1';
const CUSTOMER_HZ = 330;
const OPERATOR_HZ = 440;
const SUPERVISOR_HZ = 620;
const AGENT1 = tenantSipUser('agent1', 'demo')!;
/** The operator's page: its customer call is its first peer connection, the monitoring leg its last. */
const CUSTOMER_CALL = 0;
const MONITOR_LEG = -1;

let pbx: TestPbx;
let stack: Stack;
let workDir: string;
let operatorBrowser: Browser;
let supervisorBrowser: Browser;
let callers: CallerBrowser;
let operator: Page;
let supervisor: Page;
let supervisorContext: BrowserContext;
let customer: CallerPage;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-monitoring-'));
  const customerWav = await makeToneWav(path.join(workDir, 'customer.wav'), CUSTOMER_HZ);
  const operatorWav = await makeToneWav(path.join(workDir, 'operator.wav'), OPERATOR_HZ);
  const supervisorWav = await makeToneWav(path.join(workDir, 'supervisor.wav'), SUPERVISOR_HZ);
  pbx = await startTestPbx();
  stack = await startStack({ customers: 50, sip: { secret: pbx.secret, wsUrl: pbx.wsUrl, domain: DOMAIN } });
  const supervisorUrl = await stack.startShell('supervisor');
  operatorBrowser = await launchWithMicrophone(operatorWav);
  supervisorBrowser = await launchWithMicrophone(supervisorWav);
  callers = await launchCallers({ wav: customerWav, wsUrl: pbx.wsUrl, secret: pbx.secret, domain: DOMAIN });
  ({ page: operator } = await openAgentApp(operatorBrowser, stack.shellUrl, 'agent1', 'agent1-pass'));
  ({ page: supervisor, context: supervisorContext } = await openAgentApp(supervisorBrowser, supervisorUrl, 'super1', 'super1-pass'));
  customer = await callers.open('0355550101');
});

test.afterAll(async () => {
  await callers?.close();
  await operatorBrowser?.close();
  await supervisorBrowser?.close();
  await stopAll();
  await pbx?.stop();
  removeStackDir(stack);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

function callCard(page: Page) {
  return page.getByTestId('call-card');
}

/** The label of the track the operator's customer call sends (a microphone's, or the mix's). */
function customerCallSends(): Promise<string> {
  return operator.evaluate((index) => {
    const open = ((window as Window & { __tsunaguPeerConnections?: RTCPeerConnection[] }).__tsunaguPeerConnections ?? []).filter((c) => c.connectionState !== 'closed');
    return open[index]?.getSenders().find((sender) => sender.track?.kind === 'audio')?.track?.label ?? '';
  }, CUSTOMER_CALL);
}

function sessions(): Array<{ mode: string; ended_at: string | null; end_reason: string | null }> {
  return stack.query('select mode, ended_at, end_reason from monitor_sessions order by started_at');
}

test('a monitoring INVITE the backend did not issue is refused and never rings', async () => {
  const intruder = await callers.open('0355550199');
  await intruder.call(`sip:${AGENT1}@${DOMAIN}`, [`${MONITOR_HEADER}: 00000000-0000-4000-8000-000000000000`]);
  await expect.poll(async () => (await intruder.snapshot()).session).toBe('Terminated');
  await expect(callCard(operator)).toHaveCount(0);
  await intruder.close();
});

test('listen, whisper and barge: who hears whom', async () => {
  test.setTimeout(180_000);
  await customer.call(`sip:${AGENT1}@${DOMAIN}`);
  await callCard(operator).getByRole('button', { name: 'Answer' }).click();
  await expect(callCard(operator)).toHaveAttribute('data-state', 'connected');
  await expectTone(customer.page, 0, OPERATOR_HZ, 'the customer hears the operator');

  await supervisor.getByTestId('area-live').click();
  const row = supervisor.getByTestId('live-call');
  await expect(row).toHaveCount(1, { timeout: 30_000 });
  await expect(row.getByRole('rowheader')).toHaveText('オペレーター 一号');

  // Listen: the supervisor hears both; nobody hears the supervisor.
  await row.getByRole('button', { name: 'Listen' }).click();
  await expect(row).toHaveAttribute('data-monitor-phase', 'connected', { timeout: 30_000 });
  await expect(operator.getByTestId('monitored-notice')).toHaveAttribute('data-mode', 'listen');
  await expectTone(supervisor, MONITOR_LEG, CUSTOMER_HZ, 'listen: the supervisor hears the customer');
  await expectTone(supervisor, MONITOR_LEG, OPERATOR_HZ, 'listen: the supervisor hears the operator');
  await expectNoTone(operator, MONITOR_LEG, SUPERVISOR_HZ, 'listen: the operator');
  await expectNoTone(customer.page, 0, SUPERVISOR_HZ, 'listen: the customer');
  await expectTone(customer.page, 0, OPERATOR_HZ, 'listen: the customer still hears the operator');

  // Whisper: the operator hears the supervisor, the customer does not.
  await row.getByRole('button', { name: 'Whisper' }).click();
  await expect(row).toHaveAttribute('data-monitor-mode', 'whisper');
  await expect(operator.getByTestId('monitored-notice')).toHaveAttribute('data-mode', 'whisper');
  await expectTone(operator, MONITOR_LEG, SUPERVISOR_HZ, 'whisper: the operator hears the supervisor');
  await expectNoTone(customer.page, 0, SUPERVISOR_HZ, 'whisper: the customer');

  // Barge: both do.
  await row.getByRole('button', { name: 'Barge' }).click();
  await expect(operator.getByTestId('monitored-notice')).toHaveAttribute('data-mode', 'barge');
  await expectTone(customer.page, 0, SUPERVISOR_HZ, 'barge: the customer hears the supervisor');
  await expectTone(operator, MONITOR_LEG, SUPERVISOR_HZ, 'barge: the operator hears the supervisor');
  await expectTone(customer.page, 0, OPERATOR_HZ, 'barge: the customer still hears the operator');

  // Back to listen: the customer stops hearing the supervisor.
  await row.getByRole('button', { name: 'Listen' }).click();
  await expect(operator.getByTestId('monitored-notice')).toHaveAttribute('data-mode', 'listen');
  await expect
    .poll(async () => (await toneAmplitudes(customer.page, 0, [SUPERVISOR_HZ]))[SUPERVISOR_HZ], {
      message: 'the customer stops hearing the supervisor',
      timeout: 20_000,
    })
    .toBeLessThan(TONE_ABSENT);

  const audited = stack.query<{ action: string }>(
    "select action from audit_events where action in ('monitor_started', 'monitor_mode_changed', 'monitor_stopped') order by id",
  );
  expect(audited.map((a) => a.action)).toEqual(['monitor_started', 'monitor_mode_changed', 'monitor_mode_changed', 'monitor_mode_changed']);
  expect(sessions()).toEqual([{ mode: 'listen', ended_at: null, end_reason: null }]);
});

test('mute and a microphone change during monitoring go through the mix', async () => {
  test.setTimeout(180_000);
  const row = supervisor.getByTestId('live-call');
  const card = callCard(operator);
  await row.getByRole('button', { name: 'Barge' }).click();
  await expect(operator.getByTestId('monitored-notice')).toHaveAttribute('data-mode', 'barge');
  await expectTone(customer.page, 0, SUPERVISOR_HZ, 'barge: the customer hears the supervisor');
  const mixLabel = await customerCallSends();
  expect(mixLabel).not.toMatch(/Fake Audio Input/);

  // Muted, the operator reaches nobody: neither the customer nor the supervisor. The customer
  // and the supervisor still hear each other.
  await card.getByRole('button', { name: 'Mute' }).click();
  await expect(card.getByRole('button', { name: 'Unmute' })).toBeVisible();
  await expectToneStops(supervisor, MONITOR_LEG, OPERATOR_HZ, 'muted: the supervisor');
  await expectToneStops(customer.page, 0, OPERATOR_HZ, 'muted: the customer');
  await expectTone(customer.page, 0, SUPERVISOR_HZ, 'muted: the customer still hears the supervisor');
  await expectTone(supervisor, MONITOR_LEG, CUSTOMER_HZ, 'muted: the supervisor still hears the customer');
  await card.getByRole('button', { name: 'Unmute' }).click();
  await expectTone(supervisor, MONITOR_LEG, OPERATOR_HZ, 'unmuted: the supervisor hears the operator again');
  await expectTone(customer.page, 0, OPERATOR_HZ, 'unmuted: the customer hears the operator again');

  // Another microphone: it feeds the mix; the call keeps sending the mix, so the customer still
  // hears the supervisor, and both hear the operator from the new microphone.
  await operator.getByRole('button', { name: 'Phone settings' }).click();
  const settings = operator.getByRole('dialog', { name: 'Phone settings' });
  await settings.getByLabel('Microphone').selectOption({ label: 'Fake Audio Input 2' });
  await settings.getByRole('button', { name: 'Close' }).click();
  await expect
    .poll(() =>
      operator.evaluate(() =>
        ((window as Window & { __tsunaguPeerConnections?: RTCPeerConnection[] }).__tsunaguPeerConnections ?? [])
          .flatMap((c) => c.getSenders())
          .some((sender) => sender.track?.label === 'Fake Audio Input 2'),
      ),
    )
    .toBe(false);
  expect(await customerCallSends()).toBe(mixLabel);
  await expectTone(supervisor, MONITOR_LEG, OPERATOR_HZ, 'new microphone: the supervisor hears the operator');
  await expectTone(customer.page, 0, OPERATOR_HZ, 'new microphone: the customer hears the operator');
  await expectTone(customer.page, 0, SUPERVISOR_HZ, 'new microphone: the customer still hears the supervisor');

  // Muting applies to the new microphone as well.
  await card.getByRole('button', { name: 'Mute' }).click();
  await expectToneStops(supervisor, MONITOR_LEG, OPERATOR_HZ, 'muted on the new microphone: the supervisor');
  await card.getByRole('button', { name: 'Unmute' }).click();
  await expectTone(supervisor, MONITOR_LEG, OPERATOR_HZ, 'unmuted on the new microphone: the supervisor');

  await row.getByRole('button', { name: 'Listen' }).click();
  await expect(operator.getByTestId('monitored-notice')).toHaveAttribute('data-mode', 'listen');
  await expectToneStops(customer.page, 0, SUPERVISOR_HZ, 'listen again: the customer');
});

test('the supervisor\'s page closing ends only the monitoring: the customer and the operator stay connected', async () => {
  test.setTimeout(120_000);
  await supervisorContext.close();
  await expect(operator.getByTestId('monitored-lost')).toBeVisible({ timeout: 30_000 });
  await expect.poll(() => sessions()[0]?.end_reason, { timeout: 20_000 }).toBe('supervisor_lost');
  await expect(callCard(operator)).toHaveAttribute('data-state', 'connected');
  expect((await customer.snapshot()).session).toBe('Established');
  await expectAudioFlowing(() => customer.inboundAudio(), 'the customer after the supervisor left');
  await expectTone(customer.page, 0, OPERATOR_HZ, 'the customer hears the operator again from the microphone');
  // The call got the microphone chosen during the monitoring, not the one it had before.
  await expect.poll(customerCallSends).toBe('Fake Audio Input 2');
  await expectTone(operator, CUSTOMER_CALL, CUSTOMER_HZ, 'the operator hears the customer');
  await customer.hangUp();
  await expect(callCard(operator)).toHaveCount(0);
});
