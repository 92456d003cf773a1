import { expect, test, type Browser, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { nationalDigits } from '../shared/phone.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { launchCallers, launchWithMicrophone, makeToneWav, openAgentApp, type CallerBrowser } from './support/phone.js';
import { stopAll } from './support/processes.js';
import { freePort, newCtiToken, removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * A call recorded by the PBX itself plays in the app (issue 11): Kamailio + rtpengine record a
 * real call between a caller's Chromium page and the operator's app, the recorder (pbx/recorder)
 * mixes it with Debian's rtpengine-recording-daemon and uploads the MP3 to the backend, and the
 * operator plays that file from the call's contact in the incident tree.
 *
 * Important: the recording daemon runs in a private mount namespace (see pbx/recorder), which
 * needs root; `npm test` runs the e2e tests as root inside a network namespace.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const DOMAIN = '127.0.0.1';
/** 20 ms RTP packets: this many make a call of a bit over four seconds. */
const CALL_PACKETS = 210;

let pbx: TestPbx;
let stack: Stack;
let workDir: string;
let agentBrowser: Browser;
let callers: CallerBrowser;
let agent: Page;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  test.skip(process.getuid?.() !== 0, 'the PBX recorder runs the recording daemon in a mount namespace of its own, which needs root');
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-pbx-recording-'));
  const agentWav = await makeToneWav(path.join(workDir, 'agent-440hz.wav'), 440);
  const callerWav = await makeToneWav(path.join(workDir, 'caller-330hz.wav'), 330);
  // The recorder uploads to the stack's backend, which is started after the PBX: its port and
  // the PBX's CTI token are chosen first.
  const backendPort = await freePort();
  const ctiToken = newCtiToken();
  pbx = await startTestPbx({ recording: { backendUrl: `http://127.0.0.1:${backendPort}`, ctiToken, tenant: 'demo' } });
  stack = await startStack({ customers: 40, backendPort, ctiToken, sip: { secret: pbx.secret, wsUrl: pbx.wsUrl, domain: DOMAIN } });
  agentBrowser = await launchWithMicrophone(agentWav);
  callers = await launchCallers({ wav: callerWav, wsUrl: pbx.wsUrl, secret: pbx.secret, domain: DOMAIN });
  ({ page: agent } = await openAgentApp(agentBrowser, stack.shellUrl, 'agent1', 'agent1-pass'));
});

test.afterAll(async () => {
  await callers?.close();
  await agentBrowser?.close();
  await stopAll();
  await pbx?.stop();
  removeStackDir(stack);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

interface StoredRecording {
  id: string;
  file_name: string;
  sha256: string;
  duration_ms: number;
  customer_id: string | null;
}

test('a call the PBX recorded plays in the app: its length, its hash, progress while playing', async () => {
  test.setTimeout(180_000);
  const [who] = stack.query<{ id: string; code: string; e164: string }>(
    `select c.id, c.code, min(p.e164) as e164
       from customers c
       join tenants t on t.id = c.tenant_id and t.slug = 'demo'
       join customer_phones p on p.customer_id = c.id and p.kind = 'landline' and p.e164 like '+81%'
      where c.classification = 3 and (select count(*) from customer_phones q where q.e164 = p.e164) = 1
      group by c.id order by c.code limit 1`,
  );
  expect(who).toBeTruthy();
  const caller = await callers.open(nationalDigits(who!.e164));
  await caller.call(`sip:${tenantSipUser('agent1', 'demo')!}@${DOMAIN}`);
  const ringing = agent.getByTestId('call-card').and(agent.locator('[data-state="ringing"]'));
  await ringing.getByRole('button', { name: 'Answer' }).click();
  const card = agent.getByTestId('call-card');
  await expect(card).toHaveAttribute('data-state', 'connected');
  const sipCallId = (await card.getAttribute('data-call-id'))!;

  // The PBX's recorder reports in, so the operator sees the call being recorded.
  await expect(card.getByTestId('call-recording')).toHaveAttribute('data-state', 'recording', { timeout: 30_000 });
  // A few seconds of real audio both ways (counted in packets, not waited for by the clock).
  await expect.poll(async () => (await caller.inboundAudio()).packets, { timeout: 30_000 }).toBeGreaterThan(CALL_PACKETS);
  await card.getByRole('button', { name: 'Hang up' }).click();
  await expect(card).toHaveCount(0);
  await caller.close();

  const summary = `recorded by the PBX ${Date.now()}`;
  const form = agent.getByTestId('wrap-up');
  await form.getByLabel('Summary').fill(summary);
  await form.getByRole('button', { name: 'Save wrap-up' }).click();
  await expect(agent.getByTestId('wrap-up')).toHaveCount(0);

  // The recorder mixes the call once it is over and uploads it with the call's Call-ID.
  await expect
    .poll(() => stack.query<StoredRecording>(`select id, file_name, sha256, duration_ms, customer_id from recordings where call_id = ?`, sipCallId).length, {
      message: 'the PBX recorder to upload the call',
      timeout: 60_000,
    })
    .toBe(1);
  // The call as the operator's phone reported it: answered, then hung up.
  const [leg] = stack.query<{ answered_at: string; ended_at: string }>(
    `select answered_at, ended_at from calls where external_id = ? and answered_at is not null and ended_at is not null`,
    sipCallId,
  );
  const callMs = Date.parse(leg!.ended_at) - Date.parse(leg!.answered_at);
  const [stored] = stack.query<StoredRecording>(`select id, file_name, sha256, duration_ms, customer_id from recordings where call_id = ?`, sipCallId);
  expect(stored!.customer_id).toBe(who!.id);
  expect(Math.abs(stored!.duration_ms - callMs)).toBeLessThan(1000);
  const onDisk = fs.readFileSync(path.join(stack.dir, 'recordings', stored!.file_name));
  expect(createHash('sha256').update(onDisk).digest('hex')).toBe(stored!.sha256);

  // The operator opens the call's contact in the incident tree and plays the file.
  await expect
    .poll(() => stack.query<{ id: string }>(`select id from contacts where summary = ? and customer_id = ?`, summary, who!.id).length, { timeout: 30_000 })
    .toBe(1);
  const [contact] = stack.query<{ id: string; incident_id: string }>(`select id, incident_id from contacts where summary = ? and customer_id = ?`, summary, who!.id);
  await agent.getByRole('combobox', { name: 'Search customers' }).fill(who!.code);
  await agent.getByTestId('search-result').filter({ hasText: who!.code }).click();
  await expect(agent.getByTestId('customer-code')).toHaveText(who!.code);
  const tree = agent.getByTestId('incident-tree');
  const incident = tree.locator(`[data-incident-id="${contact!.incident_id}"]`);
  await expect(incident).toBeVisible({ timeout: 30_000 });
  if ((await incident.getAttribute('aria-expanded')) !== 'true') await incident.locator('.incident-row').click();
  await tree.locator(`[data-contact-id="${contact!.id}"]`).click();

  const section = agent.getByTestId('contact-recordings');
  await section.getByRole('button', { name: 'Play recording' }).click();
  const player = section.getByTestId('recording-player');
  await expect(player).toHaveAttribute('data-recording-id', stored!.id);
  await expect(player.getByTestId('recording-waveform')).toBeVisible();
  // No pause was pressed: nothing hatched on the timeline.
  await expect(player.getByTestId('recording-pause')).toHaveCount(0);

  const audio = player.getByTestId('recording-audio');
  const src = (await audio.getAttribute('src'))!;
  expect(src).toMatch(new RegExp(`^${stack.backendUrl}/api/recording-audio/${stored!.id}\\?ticket=`));
  // The browser's own idea of the file's length matches the call.
  await expect.poll(() => audio.evaluate((element: HTMLAudioElement) => element.duration)).toBeGreaterThan(0);
  const playerSeconds = await audio.evaluate((element: HTMLAudioElement) => element.duration);
  test.info().annotations.push({ type: 'figures', description: `call ${callMs} ms, recorder ${stored!.duration_ms} ms, player ${Math.round(playerSeconds * 1000)} ms` });
  expect(Math.abs(playerSeconds * 1000 - callMs)).toBeLessThan(1000);

  await player.getByRole('button', { name: 'Play' }).click();
  await audio.evaluate(
    (element: HTMLAudioElement) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (element.currentTime > 1) resolve();
          else element.addEventListener('timeupdate', check, { once: true });
        };
        check();
      }),
  );
  await expect(player.getByTestId('recording-time')).not.toHaveText(/^00:00 of/);
  await player.getByRole('button', { name: 'Pause' }).click();

  // What the app streams is the stored file, byte for byte.
  const streamed = Buffer.from(await (await fetch(src)).arrayBuffer());
  expect(createHash('sha256').update(streamed).digest('hex')).toBe(stored!.sha256);

  const agentId = stack.query<{ id: string }>(`select u.id from users u join tenants t on t.id = u.tenant_id and t.slug = 'demo' where u.login = 'agent1'`)[0]!.id;
  await expect
    .poll(() => stack.query<{ n: number }>(`select count(*) as n from audit_events where action = 'recording_played' and user_id = ? and customer_id = ?`, agentId, who!.id)[0]!.n)
    .toBe(1);
});
