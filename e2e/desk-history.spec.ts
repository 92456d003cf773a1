import { expect, test, type Browser, type Page } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { nationalDigits } from '../shared/phone.js';
import { launchCallers, launchWithMicrophone, makeToneWav, openAgentApp, type CallerBrowser } from './support/phone.js';
import { stopAll } from './support/processes.js';
import { freePort, removeStackDir, startStack, type Stack } from './support/stack.js';
import { tenantSipUser } from '../shared/sip-identity.js';

/**
 * The operator's desk as a person sees it: a call that rang out is in the call history with a
 * badge and a notice (Kamailio, a caller page that gives up), and a mail that landed in the
 * wrong incident is moved into the right one (real SMTP into the backend).
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const DOMAIN = '127.0.0.1';
const SUPPORT_ADDRESS = 'support@demo.tsunagu.localhost';

let pbx: TestPbx;
let stack: Stack;
let workDir: string;
let smtpPort: number;
let agentBrowser: Browser;
let callers: CallerBrowser;
let agent: Page;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-desk-history-'));
  const agentWav = await makeToneWav(path.join(workDir, 'agent-440hz.wav'), 440);
  const callerWav = await makeToneWav(path.join(workDir, 'caller-330hz.wav'), 330);
  pbx = await startTestPbx();
  smtpPort = await freePort();
  stack = await startStack({
    customers: 60,
    sip: { secret: pbx.secret, wsUrl: pbx.wsUrl, domain: DOMAIN },
    extraBackendEnv: { TSUNAGU_SMTP_PORT: String(smtpPort), TSUNAGU_MAIL_SENDER_ENABLED: 'false' },
  });
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

test('a call that rings out is in the call history, with a badge and a notice', async () => {
  const [who] = stack.query<{ id: string; name: string; e164: string }>(
    `select c.id, c.name, min(p.e164) as e164
       from customers c
       join tenants t on t.id = c.tenant_id and t.slug = 'demo'
       join customer_phones p on p.customer_id = c.id and p.kind = 'landline' and p.e164 like '+81%'
      where c.classification = 3 and (select count(*) from customer_phones q where q.e164 = p.e164) = 1
      group by c.id order by c.code limit 1`,
  );
  expect(who, 'the seed should hold a class-3 customer with a landline').toBeTruthy();
  await expect(agent.getByTestId('area-history')).toHaveAttribute('data-count', '0');

  const caller = await callers.open(nationalDigits(who!.e164));
  await caller.call(`sip:${tenantSipUser('agent1', 'demo')!}@${DOMAIN}`);
  const ringing = agent.getByTestId('call-card').and(agent.locator('[data-state="ringing"]'));
  await expect(ringing).toBeVisible();
  await expect(ringing.getByTestId('screen-pop')).toHaveAttribute('data-phase', 'found');
  // The caller gives up before anyone answers.
  await caller.hangUp();
  await expect(agent.getByTestId('call-card')).toHaveCount(0);

  const notice = agent.getByTestId('missed-notice');
  await expect(notice).toContainText(`Missed call: ${who!.name}`);
  await expect(agent.getByTestId('area-history')).toHaveAttribute('data-count', '1');

  await notice.getByRole('button', { name: 'Show call history' }).click();
  const entry = agent.getByTestId('history-call').first();
  await expect(entry).toHaveAttribute('data-outcome', 'missed');
  await expect(entry).toContainText(who!.name);
  await expect(entry.getByRole('button', { name: `Call ${who!.name}` })).toBeEnabled();
  await expect(agent.getByTestId('area-history')).toHaveAttribute('data-count', '0');
  await expect(notice).toHaveCount(0);
  // The backend has the missed leg as the operator's call, matched to the customer.
  await expect
    .poll(() => stack.query<{ n: number }>(`select count(*) as n from audit_events where action = 'call_missed' and customer_id = ?`, who!.id)[0]!.n)
    .toBe(1);
  await caller.close();
});

test('a callback flagged in a wrap-up shows in the callback list, due when the operator chose', async () => {
  const [who] = stack.query<{ id: string; name: string; e164: string }>(
    `select c.id, c.name, min(p.e164) as e164
       from customers c
       join tenants t on t.id = c.tenant_id and t.slug = 'demo'
       join customer_phones p on p.customer_id = c.id and p.kind = 'landline' and p.e164 like '+81%'
      where c.classification = 3 and (select count(*) from customer_phones q where q.e164 = p.e164) = 1
      group by c.id order by c.code limit 1 offset 1`,
  );
  expect(who, 'the seed should hold a second class-3 customer with a landline').toBeTruthy();
  const caller = await callers.open(nationalDigits(who!.e164));
  await caller.call(`sip:${tenantSipUser('agent1', 'demo')!}@${DOMAIN}`);
  const ringing = agent.getByTestId('call-card').and(agent.locator('[data-state="ringing"]'));
  await expect(ringing.getByTestId('screen-pop')).toHaveAttribute('data-phase', 'found');
  await ringing.getByRole('button', { name: 'Answer' }).click();
  const card = agent.getByTestId('call-card');
  await expect(card).toHaveAttribute('data-state', 'connected');
  await card.getByRole('button', { name: 'Hang up' }).click();

  const form = agent.getByTestId('wrap-up');
  await expect(form).toBeVisible();
  if (await form.getByLabel('Title of the new incident').isVisible()) await form.getByLabel('Title of the new incident').fill('Callback request');
  await form.getByLabel('Summary').fill('Wants a call back about the statement');
  await form.getByLabel('Callback needed').check();
  await form.getByLabel('Call back', { exact: true }).selectOption({ label: 'In 30 minutes' });
  const savedAt = Date.now();
  await form.getByRole('button', { name: 'Save wrap-up' }).click();
  await expect(form).toHaveCount(0);

  await agent.getByTestId('area-history').click();
  const task = agent.getByTestId('callback-worklist').getByTestId('callback-task').filter({ hasText: who!.name });
  await expect(task).toBeVisible();
  await expect(task).toHaveAttribute('data-overdue', 'false');
  await expect(task.getByRole('button', { name: `Call ${who!.name}` })).toBeEnabled();
  // The backend holds it as a task due half an hour after the wrap-up.
  await expect
    .poll(() => stack.query<{ due_at: string }>(`select due_at from callbacks where customer_id = ? and done_at is null`, who!.id)[0]?.due_at ?? null, {
      timeout: 30_000,
    })
    .not.toBeNull();
  const dueAt = Date.parse(stack.query<{ due_at: string }>(`select due_at from callbacks where customer_id = ? and done_at is null`, who!.id)[0]!.due_at);
  expect(Math.abs(dueAt - (savedAt + 30 * 60_000))).toBeLessThan(60_000);
  await caller.close();
});

test('a mail filed in the wrong incident is moved into the right one', async () => {
  const stamp = Date.now();
  const subject = `Statement question ${stamp}`;
  await agent.getByTestId('area-mail').click();
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({
      to: SUPPORT_ADDRESS,
      from: `Aiko Mori <aiko.mori.${stamp}@example.net>`,
      subject,
      text: 'About the statement you sent.',
      messageId: `<statement-${stamp}@example.net>`,
    });
  } finally {
    transport.close();
  }
  const offered = agent.getByTestId('offered-mail');
  await expect(offered.getByTestId('mail-subject')).toHaveText(subject, { timeout: 30_000 });
  await expect(offered.getByTestId('mail-incident')).toContainText(subject);

  // The operator opens the customer and opens the incident the mail belongs to.
  await offered.getByTestId('open-customer').click();
  await expect(agent.getByRole('heading', { name: 'Aiko Mori', level: 2 })).toBeVisible();
  const newIncident = agent.getByTestId('new-incident');
  await newIncident.getByLabel('New incident').fill('Annual statement');
  await newIncident.getByRole('button', { name: 'Create incident' }).click();
  await expect(agent.getByTestId('incident').filter({ hasText: 'Annual statement' })).toBeVisible();

  await agent.getByTestId('area-mail').click();
  const move = agent.getByTestId('move-mail');
  await move.getByLabel('Move this mail to incident').selectOption({ label: 'Annual statement' });
  await move.getByRole('button', { name: 'Move mail' }).click();
  await expect(move.getByRole('status')).toHaveText('Mail moved to Annual statement');
  await expect(agent.getByTestId('mail-incident')).toContainText('Annual statement');

  await expect
    .poll(
      () =>
        stack.query<{ title: string }>(
          `select i.title from mail_messages m join incidents i on i.id = m.incident_id where m.message_id = ?`,
          `statement-${stamp}@example.net`,
        )[0]?.title,
      { timeout: 30_000 },
    )
    .toBe('Annual statement');
  // The incident tree follows: the mail's contact sits under the new incident.
  await agent.getByTestId('area-customers').click();
  const target = agent.getByTestId('incident').filter({ hasText: 'Annual statement' });
  await expect(target).toContainText('1 contact', { timeout: 30_000 });
});
