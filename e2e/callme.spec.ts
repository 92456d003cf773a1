import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_PORTAL_ACCOUNT } from '../backend/src/portal/seed.js';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { formatPhoneForDisplay } from '../shared/phone.js';
import { expectAudio, launchCallers, launchWithMicrophone, makeToneWav, openAgentApp, type CallerBrowser } from './support/phone.js';
import { run, stopAll } from './support/processes.js';
import { removeStackDir, root, startStack, type Stack } from './support/stack.js';

/**
 * Issue 10 item 6 end to end, two browser contexts against one backend: the customer presses
 * "call me" in the portal; the backend offers it to the available operator, whose app shows
 * the offer; the operator accepts and the app dials the customer's number itself, through
 * Kamailio, to a caller page registered under that number (the customer's phone, which
 * answers), with the customer popped; the portal follows: shortly → calling you now → done.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const DOMAIN = '127.0.0.1';

let pbx: TestPbx;
let stack: Stack;
let workDir: string;
let agentBrowser: Browser;
let callers: CallerBrowser;
let customerContext: BrowserContext;
let customer: Page;
let agent: Page;

async function ensurePortalBuilt(): Promise<void> {
  if (fs.existsSync(path.join(root, 'dist', 'portal', 'index.html'))) return;
  await run(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', path.join(root, 'vite.portal.config.ts'), '--logLevel', 'warn']);
}

test.beforeAll(async () => {
  test.setTimeout(240_000);
  await ensurePortalBuilt();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-callme-'));
  const agentWav = await makeToneWav(path.join(workDir, 'agent-440hz.wav'), 440);
  const callerWav = await makeToneWav(path.join(workDir, 'caller-330hz.wav'), 330);
  pbx = await startTestPbx();
  stack = await startStack({ customers: 30, sip: { secret: pbx.secret, wsUrl: pbx.wsUrl, domain: DOMAIN } });
  agentBrowser = await launchWithMicrophone(agentWav);
  callers = await launchCallers({ wav: callerWav, wsUrl: pbx.wsUrl, secret: pbx.secret, domain: DOMAIN });
  ({ page: agent } = await openAgentApp(agentBrowser, stack.shellUrl, 'agent1', 'agent1-pass'));
  customerContext = await agentBrowser.newContext({ locale: 'en-US', viewport: { width: 390, height: 800 } });
  customer = await customerContext.newPage();
  customer.on('console', (message) => {
    if (message.type() === 'error') process.stderr.write(`[portal] ${message.text()}\n`);
  });
});

test.afterAll(async () => {
  await customerContext?.close();
  await callers?.close();
  await agentBrowser?.close();
  await stopAll();
  await pbx?.stop();
  removeStackDir(stack);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test('"call me" in the portal → the operator accepts → the app dials the customer’s phone with the pop; the portal follows', async () => {
  test.setTimeout(120_000);
  const [record] = stack.query<{ id: string; name: string; e164: string }>(
    `select c.id, c.name, min(p.e164) as e164 from customers c
       join tenants t on t.id = c.tenant_id and t.slug = 'demo'
       join customer_phones p on p.customer_id = c.id
      where c.code = ? group by c.id`,
    DEMO_PORTAL_ACCOUNT.customerCode,
  );
  expect(record, 'the demo portal customer has a phone').toBeDefined();
  // The customer's phone: a caller page registered under that number, which answers.
  const phone = await callers.open(record!.e164);

  await customer.goto(`${stack.backendUrl}/portal/demo/`);
  await customer.getByLabel('Customer number').fill(DEMO_PORTAL_ACCOUNT.customerCode);
  await customer.getByLabel('Password').fill(DEMO_PORTAL_ACCOUNT.password);
  await customer.getByRole('button', { name: 'Sign in', exact: true }).click();
  // The customer looks at a product first: the pop will show it as their recent web activity.
  await customer.getByRole('link', { name: '投資信託 A' }).click();
  await expect(customer.getByRole('heading', { name: '投資信託 A', level: 2 })).toBeVisible();
  await expect
    .poll(() => stack.query<{ n: number }>(`select count(*) as n from portal_events where customer_id = ? and kind = 'page_view'`, record!.id)[0]!.n, {
      message: 'the page view reaches the backend as a beacon',
      timeout: 20_000,
    })
    .toBeGreaterThan(0);
  await customer.getByRole('link', { name: 'Call me' }).click();
  await expect(customer.getByRole('heading', { name: 'Would you like us to call you?' })).toBeVisible();
  const axe = await new AxeBuilder({ page: customer }).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);

  // HTML in the message is refused with a clear error, and nothing is asked for.
  await customer.getByLabel(record!.e164).check();
  await customer.getByLabel('What is it about? (optional)').fill('<b>NISA</b>');
  await customer.getByRole('button', { name: 'Call me' }).click();
  await expect(customer.getByRole('alert')).toContainText('must be plain text');
  await customer.getByLabel('What is it about? (optional)').fill('NISA の口座について');
  await customer.getByRole('button', { name: 'Call me' }).click();
  await expect(customer.getByTestId('callme-state')).toHaveText('An operator will call you shortly.');

  // The only available operator gets the offer over the app's event stream.
  const offer = agent.getByTestId('callme-offer');
  await expect(offer).toBeVisible({ timeout: 20_000 });
  await expect(offer).toContainText(record!.name);
  await expect(offer).toContainText('NISA の口座について');
  await expect(offer).toContainText(formatPhoneForDisplay(record!.e164));
  await offer.getByRole('button', { name: 'Accept and call' }).click();

  // The app dials the customer's number itself: the operator is on the line first, with the pop.
  const card = agent.getByTestId('call-card');
  await expect(card).toHaveAttribute('data-direction', 'outbound');
  await expect(card).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(card.getByTestId('screen-pop-customer-code')).toHaveText(DEMO_PORTAL_ACCOUNT.customerCode);
  // The pop's customer panel shows what the customer just did on the web.
  await expect(agent.getByTestId('customer-panel').getByTestId('web-activity-item').first()).toContainText('Viewed 投資信託 A', { timeout: 30_000 });
  await expectAudio(() => phone.inboundAudio(), 'the customer called back');
  await expect(customer.getByTestId('callme-state')).toHaveText('Calling you now.', { timeout: 15_000 });
  // Too late to cancel: the button is gone.
  await expect(customer.getByRole('button', { name: 'Cancel' })).toHaveCount(0);

  await card.getByRole('button', { name: 'Hang up' }).click();
  await expect(customer.getByTestId('callme-state')).toHaveText('Thank you for talking with us.', { timeout: 15_000 });
  const audit = stack.query<{ action: string }>(`select action from audit_events where customer_id = ? and action like 'callme_%' order by rowid`, record!.id);
  expect(audit.map((row) => row.action)).toEqual(['callme_requested', 'callme_offered', 'callme_accepted', 'callme_done']);
  await phone.close();
});
