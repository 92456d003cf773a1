import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Browser, type BrowserContext, type Locator, type Page } from '@playwright/test';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { startMailCatcher, type MailCatcher } from '../backend/src/mail/dev-mail-out.js';
import { runSipp, SIPP_SCENARIOS } from '../pbx/test-support/sipp.js';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { nationalDigits } from '../shared/phone.js';
import { launchWithMicrophone, makeToneWav, openAgentApp } from './support/phone.js';
import { stopAll } from './support/processes.js';
import { freePort, removeStackDir, startStack, type Stack } from './support/stack.js';
import { tenantSipUser } from '../shared/sip-identity.js';

/**
 * axe-core over every screen an operator and a supervisor work in (login, search, the customer
 * panel, a ringing call, the wrap-up, the mail desk, the review queue), no serious or critical
 * violation allowed; a call handled from ring to wrap-up with the keyboard alone; and the
 * layout faults a person saw: 発信 wrapping, a long caller name overflowing the call card, the
 * approve button below the fold at 1440 px.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const DOMAIN = '127.0.0.1';
const LONG_NAME = `長い名前の株式会社${'ロングネームホールディングス'.repeat(6)} 代表取締役 山田太郎`;

let pbx: TestPbx;
let stack: Stack;
let catcher: MailCatcher;
let workDir: string;
let smtpPort: number;
let agentBrowser: Browser;
let agentContext: BrowserContext;
let agent: Page;
let caller: { id: string; code: string; e164: string };

test.beforeAll(async () => {
  test.setTimeout(240_000);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-a11y-'));
  const wav = await makeToneWav(path.join(workDir, 'agent-440hz.wav'), 440);
  pbx = await startTestPbx();
  catcher = await startMailCatcher({ dir: path.join(workDir, 'mail-out') });
  smtpPort = await freePort();
  stack = await startStack({
    customers: 60,
    sip: { secret: pbx.secret, wsUrl: pbx.wsUrl, domain: DOMAIN },
    extraBackendEnv: { TSUNAGU_SMTP_PORT: String(smtpPort), TSUNAGU_SMTP_RELAY_URL: catcher.url, TSUNAGU_MAIL_POLL_SECONDS: '0.2' },
  });
  const found = stack.query<{ id: string; code: string; e164: string }>(
    `select c.id, c.code, min(p.e164) as e164
       from customers c
       join tenants t on t.id = c.tenant_id and t.slug = 'demo'
       join customer_phones p on p.customer_id = c.id and p.kind = 'landline' and p.e164 like '+81%'
      where c.classification = 3 and (select count(*) from customer_phones q where q.e164 = p.e164) = 1
      group by c.id order by c.code limit 1`,
  )[0];
  expect(found, 'the seed should hold a class-3 customer with a landline').toBeTruthy();
  caller = found!;
  // Before the app's first sync, so the cache holds the long name the card must cope with.
  const db = new Database(stack.dbPath);
  try {
    db.prepare('update customers set name = ? where id = ?').run(LONG_NAME, caller!.id);
  } finally {
    db.close();
  }
  agentBrowser = await launchWithMicrophone(wav);
  ({ context: agentContext, page: agent } = await openAgentApp(agentBrowser, stack.shellUrl, 'agent1', 'agent1-pass'));
});

test.afterAll(async () => {
  await agentContext?.close();
  await agentBrowser?.close();
  await stopAll();
  await pbx?.stop();
  await catcher?.close();
  removeStackDir(stack);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

async function expectNoSeriousA11yViolations(page: Page, screen: string): Promise<void> {
  // The mail frame is sandboxed without script: axe cannot run inside it (its content is the
  // customer's, not ours).
  const results = await new AxeBuilder({ page }).exclude('[data-testid="mail-frame"]').analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/** Presses Tab until `target` has the focus: proves it is in the tab order, reachable without a mouse. */
async function tabTo(page: Page, target: Locator, what: string): Promise<void> {
  await expect(target).toBeVisible();
  for (let presses = 0; presses < 120; presses++) {
    if (await target.evaluate((element) => element === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${what} cannot be reached with Tab`);
}

/** How many lines the element's text takes. */
function lineCount(target: Locator): Promise<number> {
  return target.evaluate((element) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    const tops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
    return tops.size;
  });
}

test('the login screen', async ({ browser }) => {
  // A shell of its own: the agent's is signed in already.
  const loginUrl = await stack.startShell('login');
  const context = await browser.newContext({ locale: 'en-US' });
  try {
    const page = await context.newPage();
    await page.goto(loginUrl);
    await expect(page.getByLabel('Password')).toBeVisible();
    await expectNoSeriousA11yViolations(page, 'login');
  } finally {
    await context.close();
  }
});

test('search and the customer panel; 発信 stays on one line', async () => {
  const box = agent.getByRole('combobox', { name: 'Search customers' });
  await box.fill(caller.code);
  const result = agent.getByTestId('search-result').filter({ hasText: caller.code });
  await expect(result).toBeVisible();
  await expectNoSeriousA11yViolations(agent, 'search');
  await box.press('Enter');
  await expect(agent.getByTestId('customer-code')).toHaveText(caller.code);
  await expectNoSeriousA11yViolations(agent, 'customer panel');

  await agent.getByRole('button', { name: '日本語' }).click();
  const dial = agent.locator('.dialer button[type="submit"]');
  await expect(dial).toHaveText('発信');
  expect(await lineCount(dial)).toBe(1);
  await agent.getByRole('button', { name: 'English' }).click();
  await expect(dial).toHaveText('Call');
});

test('a ringing call with a very long name, handled from ring to wrap-up with the keyboard alone', async () => {
  const sipp = await runSipp({
    scenario: SIPP_SCENARIOS.trunkCall,
    target: `127.0.0.1:${pbx.udpPort}`,
    service: tenantSipUser('agent1', 'demo')!,
    keys: { caller: nationalDigits(caller.e164) },
    logDir: workDir,
    timeoutSeconds: 90,
  });
  try {
    const card = agent.getByTestId('call-card');
    await expect(card).toHaveAttribute('data-state', 'ringing');
    await expect(card.getByTestId('screen-pop-customer-code')).toHaveText(caller.code);
    // The long name wraps inside the card: nothing sticks out of it or of the phone pane.
    const fits = await card.evaluate((element) => {
      const pane = element.closest('[data-testid="phone"]') ?? document.body;
      const overflowing = [element, ...element.querySelectorAll('*')].filter((node) => node.scrollWidth > node.clientWidth + 1 && getComputedStyle(node).overflowX === 'visible');
      return {
        inside: element.getBoundingClientRect().right <= pane.getBoundingClientRect().right + 1,
        overflowing: overflowing.map((node) => node.className || node.tagName),
      };
    });
    expect(fits).toEqual({ inside: true, overflowing: [] });
    await expectNoSeriousA11yViolations(agent, 'ringing call');

    await tabTo(agent, card.getByRole('button', { name: 'Answer' }), 'Answer');
    await agent.keyboard.press('Enter');
    await expect(card).toHaveAttribute('data-state', 'connected');
    // SIPp's trunk scenario answers no re-INVITE, so holding is only reached here; the softphone
    // spec holds and resumes with a real caller.
    await tabTo(agent, card.getByRole('button', { name: 'Hold' }), 'Hold');
    await tabTo(agent, card.getByRole('button', { name: 'Mute' }), 'Mute');
    await agent.keyboard.press('Enter');
    await tabTo(agent, card.getByRole('button', { name: 'Unmute' }), 'Unmute');
    await agent.keyboard.press('Enter');
    await tabTo(agent, card.getByRole('button', { name: 'Keypad' }), 'Keypad');
    await agent.keyboard.press('Enter');
    await tabTo(agent, card.getByRole('button', { name: 'Send 5' }), 'a keypad digit');
    await agent.keyboard.press('Enter');
    const transfer = card.locator('.call-actions button[aria-expanded]').filter({ hasText: 'Transfer' });
    await tabTo(agent, transfer, 'Transfer');
    await agent.keyboard.press('Enter');
    await expect(transfer).toHaveAttribute('aria-expanded', 'true');
    await agent.keyboard.press('Enter');
    await expect(transfer).toHaveAttribute('aria-expanded', 'false');
    await tabTo(agent, card.getByRole('button', { name: 'Hang up' }), 'Hang up');
    await agent.keyboard.press('Enter');

    const form = agent.getByTestId('wrap-up');
    await expect(form).toBeVisible();
    await expectNoSeriousA11yViolations(agent, 'wrap-up');
    await tabTo(agent, form.getByLabel('Summary'), 'the summary');
    await agent.keyboard.type('Keyboard only call');
    await tabTo(agent, form.getByRole('button', { name: 'Save wrap-up' }), 'Save wrap-up');
    await agent.keyboard.press('Enter');
    await expect(agent.getByTestId('wrap-up')).toHaveCount(0);
    await expect(agent.getByTestId('delivery-notice')).toHaveText('Wrap-up sent.');
    const result = await sipp.done;
    expect(result.exitCode).toBe(0);
  } finally {
    sipp.kill();
  }
});

test('the mail desk, and the review queue at 1440 px with approve above the fold', async ({ browser }) => {
  const stamp = Date.now();
  const subject = `Accessible question ${stamp}`;
  await agent.getByTestId('area-mail').click();
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ from: `Aiko Mori <aiko.${stamp}@example.net>`, to: 'support@demo.tsunagu.localhost', subject, text: 'Can you hear me?', messageId: `<a11y-${stamp}@example.net>` });
  } finally {
    transport.close();
  }
  const offered = agent.getByTestId('offered-mail');
  await expect(offered.getByTestId('mail-subject')).toHaveText(subject, { timeout: 30_000 });
  await expectNoSeriousA11yViolations(agent, 'mail desk');
  await offered.getByLabel('Reply text').fill('Yes, loud and clear.');
  await offered.getByRole('button', { name: 'Submit for review' }).click();
  await expect(agent.getByTestId('desk-outcome')).toHaveText(`Submitted for review: ${subject}`);

  const supervisorUrl = await stack.startShell('supervisor');
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
  try {
    const supervisor = await context.newPage();
    await supervisor.goto(supervisorUrl);
    await supervisor.getByLabel('Tenant').fill('demo');
    await supervisor.getByLabel('Login ID').fill('super1');
    await supervisor.getByLabel('Password').fill('super1-pass');
    await supervisor.getByRole('button', { name: 'Sign in' }).click();
    await expect(supervisor.getByTestId('area-review')).toHaveAttribute('data-count', '1', { timeout: 30_000 });
    await supervisor.getByTestId('area-review').click();
    const detail = supervisor.getByTestId('review-detail');
    await expect(detail.getByTestId('review-subject')).toContainText(subject);
    const approve = detail.getByRole('button', { name: 'Approve and send' });
    await expect(approve).toBeInViewport({ ratio: 1 });
    await expectNoSeriousA11yViolations(supervisor, 'review queue');
    await approve.click();
    await expect(supervisor.getByTestId('review-done')).toContainText('Approved');
    await expect.poll(() => fs.readdirSync(catcher.dir).filter((name) => name.endsWith('.eml')).length, { timeout: 30_000 }).toBe(1);
  } finally {
    await context.close();
  }
});
