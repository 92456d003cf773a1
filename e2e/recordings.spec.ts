import { expect, test, type Browser, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { API, LoginResponse } from '../shared/api.js';
import { LiveCallsResponse, MONITORING_API } from '../shared/monitoring.js';
import { nationalDigits } from '../shared/phone.js';
import { RECORDING_API } from '../shared/recordings.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { launchCallers, launchWithMicrophone, makeToneWav, openAgentApp, type CallerBrowser } from './support/phone.js';
import { stopAll } from './support/processes.js';
import { removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * Call recordings and help in the app (issue 11): the seeded demo recording (real audio made by
 * espeak-ng and sox, stored with its hash) plays from the incident tree, streamed from the
 * backend, with its pause on the timeline; a user who may not see the customer gets 403 and no
 * player; a real call through Kamailio shows "Not recording" while no recorder reports, then
 * pause/resume once one does, and "Ask for help" until a supervisor joins.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const DOMAIN = '127.0.0.1';

let pbx: TestPbx;
let stack: Stack;
let workDir: string;
let agentBrowser: Browser;
let callers: CallerBrowser;
let agent: Page;

interface SeededRecording {
  id: string;
  customer_id: string;
  code: string;
  contact_id: string;
  incident_id: string;
  duration_ms: number;
  sha256: string;
}

test.beforeAll(async () => {
  test.setTimeout(240_000);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-recordings-'));
  const agentWav = await makeToneWav(path.join(workDir, 'agent-440hz.wav'), 440);
  const callerWav = await makeToneWav(path.join(workDir, 'caller-330hz.wav'), 330);
  pbx = await startTestPbx();
  stack = await startStack({ customers: 60, sip: { secret: pbx.secret, wsUrl: pbx.wsUrl, domain: DOMAIN } });
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

async function apiLogin(login: string, password: string): Promise<string> {
  const response = await fetch(`${stack.backendUrl}${API.login}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'demo', login, password }),
  });
  expect(response.status).toBe(200);
  return LoginResponse.parse(await response.json()).token;
}

function seededRecording(): SeededRecording {
  const [row] = stack.query<SeededRecording>(
    `select r.id, r.customer_id, c.code, k.id as contact_id, k.incident_id, r.duration_ms, r.sha256
       from recordings r
       join customers c on c.id = r.customer_id
       join contacts k on k.customer_id = r.customer_id and k.kind = 'call' and json_extract(k.call_meta, '$.callId') = r.call_id`,
  );
  expect(row, 'the seed should hold the demo recording (espeak-ng and sox installed)').toBeTruthy();
  return row!;
}

test('a recorded call plays from the incident tree: waveform, the pause on the timeline, progress, audited', async () => {
  const recording = seededRecording();
  await agent.getByRole('combobox', { name: 'Search customers' }).fill(recording.code);
  await agent.getByTestId('search-result').filter({ hasText: recording.code }).click();
  await expect(agent.getByTestId('customer-code')).toHaveText(recording.code);
  const tree = agent.getByTestId('incident-tree');
  const incident = tree.locator(`[data-incident-id="${recording.incident_id}"]`);
  // The newest incident opens expanded; any other is expanded by a click.
  if ((await incident.getAttribute('aria-expanded')) !== 'true') await incident.locator('.incident-row').click();
  await tree.locator(`[data-contact-id="${recording.contact_id}"]`).click();

  const section = agent.getByTestId('contact-recordings');
  await section.getByRole('button', { name: 'Play recording' }).click();
  const player = section.getByTestId('recording-player');
  // The waveform is decoded from the streamed file itself.
  await expect(player.getByTestId('recording-waveform')).toBeVisible();
  expect(await player.locator('[data-testid="recording-waveform"] rect').count()).toBeGreaterThan(100);
  const pause = player.getByTestId('recording-pause');
  await expect(pause).toHaveCount(1);
  const fromMs = Number(await pause.getAttribute('data-from-ms'));
  const toMs = Number(await pause.getAttribute('data-to-ms'));
  expect(toMs - fromMs).toBe(4_000);
  const box = (await pause.boundingBox())!;
  const timeline = (await player.getByTestId('recording-timeline').boundingBox())!;
  expect(Math.abs((box.x - timeline.x) / timeline.width - fromMs / recording.duration_ms)).toBeLessThan(0.02);

  // The audio element streams from the backend and reports progress as it plays.
  const audio = player.getByTestId('recording-audio');
  expect(await audio.getAttribute('src')).toMatch(new RegExp(`^${stack.backendUrl}/api/recording-audio/${recording.id}\\?ticket=`));
  await player.getByLabel('Speed').selectOption('2');
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
  expect(await audio.evaluate((element: HTMLAudioElement) => element.playbackRate)).toBe(2);
  await expect(player.getByTestId('recording-time')).not.toHaveText(/^00:00 of/);
  await player.getByRole('button', { name: 'Pause' }).click();

  // Keyboard seek: End goes to the end of the recording.
  await player.getByRole('slider', { name: 'Position in the recording' }).focus();
  await agent.keyboard.press('End');
  await expect.poll(() => audio.evaluate((element: HTMLAudioElement) => element.currentTime)).toBeGreaterThan(recording.duration_ms / 1000 - 1);

  // One playback audited for agent1, with the customer.
  const agentId = stack.query<{ id: string }>(`select u.id from users u join tenants t on t.id = u.tenant_id and t.slug = 'demo' where u.login = 'agent1'`)[0]!.id;
  await expect
    .poll(() => stack.query<{ n: number }>(`select count(*) as n from audit_events where action = 'recording_played' and user_id = ? and customer_id = ?`, agentId, recording.customer_id)[0]!.n)
    .toBe(1);

  // Download: the browser's own download, the stored file byte for byte, audited as a download.
  const [download] = await Promise.all([agent.waitForEvent('download'), section.getByTestId('recording-download').click()]);
  expect(download.suggestedFilename()).toMatch(new RegExp(`^recording-${recording.id}\\.(ogg|mp3)$`));
  const saved = path.join(workDir, download.suggestedFilename());
  await download.saveAs(saved);
  expect(createHash('sha256').update(fs.readFileSync(saved)).digest('hex')).toBe(recording.sha256);
  await expect(section.getByTestId('recording-download-status')).toContainText('Download started');
  await expect
    .poll(() => stack.query<{ n: number }>(`select count(*) as n from audit_events where action = 'recording_downloaded' and user_id = ? and customer_id = ?`, agentId, recording.customer_id)[0]!.n)
    .toBe(1);
});

test('a user who may not see the customer gets 403 and sees no player', async () => {
  const recording = seededRecording();
  // agent2 (authority 3) may not see this classification-2 customer.
  const token = await apiLogin('agent2', 'agent2-pass');
  const list = await fetch(`${stack.backendUrl}${RECORDING_API.list}?contactId=${recording.contact_id}`, { headers: { authorization: `Bearer ${token}` } });
  expect(list.status).toBe(403);
  const ticket = await fetch(`${stack.backendUrl}${RECORDING_API.ticket.replace(':id', recording.id)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ purpose: 'play' }),
  });
  expect(ticket.status).toBe(403);
  expect(await ticket.text()).not.toContain('/api/recording-audio/');
  const downloadTicket = await fetch(`${stack.backendUrl}${RECORDING_API.ticket.replace(':id', recording.id)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ purpose: 'download' }),
  });
  expect(downloadTicket.status).toBe(403);
  expect(await downloadTicket.text()).not.toContain('/api/recording-audio/');
  expect(stack.query<{ n: number }>(`select count(*) as n from audit_events where action = 'recording_downloaded' and customer_id = ?`, recording.customer_id)[0]!.n).toBe(1);

  const other = await agentBrowser.newContext({ locale: 'en-US' });
  try {
    const page = await other.newPage();
    await page.goto(await stack.startShell('agent2'));
    await page.getByLabel('Tenant').fill('demo');
    await page.getByLabel('Login ID').fill('agent2');
    await page.getByLabel('Password').fill('agent2-pass');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByTestId('sync-status')).toHaveAttribute('data-phase', 'idle', { timeout: 60_000 });
    await page.getByRole('combobox', { name: 'Search customers' }).fill(recording.code);
    await expect(page.getByTestId('search-result').filter({ hasText: recording.code })).toHaveCount(0);
    await expect(page.getByTestId('recording-player')).toHaveCount(0);
    await expect(page.getByTestId('contact-recordings')).toHaveCount(0);
  } finally {
    await other.close();
  }
});

test('the call card says "Not recording" while the recorder is down, pauses and resumes once it reports, and asks for help', async () => {
  const [who] = stack.query<{ id: string; e164: string }>(
    `select c.id, min(p.e164) as e164
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

  // The demo tenant records every call, but no recorder has reported: the operator is told.
  const recording = card.getByTestId('call-recording');
  await expect(recording).toHaveAttribute('data-state', 'unavailable');
  await expect(recording.getByRole('status')).toContainText('Not recording');
  await expect(recording.getByRole('button')).toHaveCount(0);

  // The PBX's recorder reports in: the card says "Recording" and offers the pause.
  const health = await fetch(`${stack.backendUrl}${RECORDING_API.ctiHealth}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.cti.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'demo', ok: true, detail: 'e2e recorder' }),
  });
  expect(health.status).toBe(200);
  await expect(recording).toHaveAttribute('data-state', 'recording');
  await recording.getByRole('button', { name: 'Pause recording' }).click();
  await expect(recording).toHaveAttribute('data-state', 'paused');
  await expect(recording.getByRole('status')).toHaveText('Recording paused');
  await recording.getByRole('button', { name: 'Resume recording' }).click();
  await expect(recording).toHaveAttribute('data-state', 'recording');
  const sipCallId = (await card.getAttribute('data-call-id'))!;
  expect(stack.query<{ action: string }>(`select action from recording_marks where call_id = ? order by at`, sipCallId).map((row) => row.action)).toEqual(['pause', 'resume']);
  expect(stack.query<{ n: number }>(`select count(*) as n from audit_events where action in ('recording_paused', 'recording_resumed') and details like ?`, `%${sipCallId}%`)[0]!.n).toBe(2);

  // Help: requested until a supervisor starts monitoring the call.
  const help = card.getByTestId('call-help');
  await help.getByRole('button', { name: 'Ask for help' }).click();
  await expect(help).toHaveAttribute('data-state', 'requested');
  await expect(help.getByRole('status')).toContainText('Help requested');
  const supervisor = await apiLogin('super1', 'super1-pass');
  const live = LiveCallsResponse.parse(await (await fetch(`${stack.backendUrl}${MONITORING_API.live}`, { headers: { authorization: `Bearer ${supervisor}` } })).json());
  const call = live.calls.find((entry) => entry.sipCallId === sipCallId);
  expect(call?.helpRequestedAt).toBeTruthy();
  const started = await fetch(`${stack.backendUrl}${MONITORING_API.sessions}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${supervisor}`, 'content-type': 'application/json' },
    body: JSON.stringify({ callId: call!.callId, mode: 'listen' }),
  });
  expect(started.status).toBe(201);
  await expect(help).toHaveAttribute('data-state', 'joined');

  await card.getByRole('button', { name: 'Hang up' }).click();
  await caller.close();
});
