import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_PORTAL_ACCOUNT } from '../backend/src/portal/seed.js';
import { DEMO_REP_ROUTING } from '../backend/src/rep-requests/seed.js';
import { DEMO_USERS } from '../backend/src/seed/seed-backend.js';
import { CaptureRelay } from './support/capture-relay.js';
import { run, stopAll } from './support/processes.js';
import { removeStackDir, root, startStack, type Stack } from './support/stack.js';

/**
 * Issue 10 item 5, two browser contexts against one backend: a customer signs in on the portal,
 * opens a product and presses "contact my rep"; the right rep's app shows the task in "calls for
 * you" with the product and the customer's wishes, and the relay received the rep's e-mail. A
 * customer without an assigned rep is routed by region and product (the seeded coverage).
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

let stack: Stack;
let relay: CaptureRelay;
const contexts: BrowserContext[] = [];

async function ensurePortalBuilt(): Promise<void> {
  if (fs.existsSync(path.join(root, 'dist', 'portal', 'index.html'))) return;
  await run(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', path.join(root, 'vite.portal.config.ts'), '--logLevel', 'warn']);
}

async function newPage(browser: Browser, name: string, mobile = false): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US', viewport: mobile ? { width: 390, height: 800 } : { width: 1400, height: 1000 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') process.stderr.write(`[${name}] ${message.text()}\n`);
  });
  return page;
}

async function signInRep(browser: Browser, login: string, shellUrl: string): Promise<Page> {
  const account = DEMO_USERS.find((user) => user.login === login)!;
  const page = await newPage(browser, `app ${login}`);
  await page.goto(shellUrl);
  await page.getByLabel('Tenant').fill('demo');
  await page.getByLabel('Login ID').fill(login);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-phase', 'idle', { timeout: 60_000 });
  return page;
}

/** Signs the customer in on the portal, opens 投資信託 A and sends "contact my rep"; returns the request's id. */
async function contactRep(browser: Browser, customerCode: string, message: string): Promise<string> {
  const customer = await newPage(browser, `portal ${customerCode}`, true);
  await customer.goto(`${stack.backendUrl}/portal/demo/`);
  await customer.getByLabel('Customer number').fill(customerCode);
  await customer.getByLabel('Password').fill(DEMO_PORTAL_ACCOUNT.password);
  await customer.getByRole('button', { name: 'Sign in', exact: true }).click();
  await customer.getByRole('link', { name: '投資信託 A' }).click();
  await expect(customer.getByRole('heading', { name: '投資信託 A' })).toBeVisible();
  await customer.getByRole('button', { name: 'Contact my rep' }).click();
  const form = customer.getByRole('form', { name: 'Contact my rep' });
  // Prefilled with the product.
  await expect(form.getByLabel('Your message')).toHaveValue(/投資信託 A/);
  await form.getByLabel('Your message').fill(message);
  await form.getByLabel('E-mail').check();
  await form.getByLabel('Preferred time (optional)').fill('weekday mornings');
  await form.getByLabel('A visit').check();
  const answer = customer.waitForResponse((response) => response.url().endsWith('/api/rep-requests') && response.request().method() === 'POST');
  await form.getByRole('button', { name: 'Send' }).click();
  const response = await answer;
  expect(response.status()).toBe(201);
  await expect(form.getByRole('status')).toContainText('We passed this on to your rep');
  return ((await response.json()) as { id: string }).id;
}

/** The rep's "calls for you" shows the request's entry with the product and the wishes. */
async function expectTask(rep: Page, requestId: string, routedBy: string, message: string): Promise<void> {
  const badge = rep.getByTestId('cfy-badge');
  await expect(badge).toBeVisible({ timeout: 30_000 });
  await badge.click();
  const entry = rep.locator(`[data-testid="cfy-entry"][data-key="req:${requestId}"]`);
  await expect(entry).toBeVisible({ timeout: 30_000 });
  const request = entry.getByTestId('cfy-request');
  await expect(request).toHaveAttribute('data-routed-by', routedBy);
  await expect(request.getByTestId('cfy-request-product')).toContainText('投資信託 A');
  await expect(request).toContainText(message);
  await expect(request).toContainText('Reach by: E-mail');
  await expect(request).toContainText('When: weekday mornings');
  await expect(request).toContainText('Wants: Visit');
  await expect(entry.getByRole('button', { name: 'Open the customer' })).toBeVisible();
}

test.beforeAll(async () => {
  test.setTimeout(240_000);
  await ensurePortalBuilt();
  relay = new CaptureRelay();
  const relayPort = await relay.listen();
  stack = await startStack({ customers: 30, extraBackendEnv: { TSUNAGU_SMTP_RELAY_URL: `smtp://127.0.0.1:${relayPort}` } });
});

test.afterAll(async () => {
  for (const context of contexts) await context.close();
  await stopAll();
  await relay?.close();
  removeStackDir(stack);
});

test('“contact my rep” reaches the assigned rep’s app and mailbox', async ({ browser }) => {
  const [row] = stack.query<{ login: string | null }>(
    `select u.login from customers c join tenants t on t.id = c.tenant_id and t.slug = 'demo' left join users u on u.id = c.assigned_rep_id where c.code = ?`,
    DEMO_PORTAL_ACCOUNT.customerCode,
  );
  const repLogin = row?.login ?? DEMO_REP_ROUTING.coveringRepLogin;
  const rep = await signInRep(browser, repLogin, stack.shellUrl);
  const message = 'Please tell me more about the fund';
  const requestId = await contactRep(browser, DEMO_PORTAL_ACCOUNT.customerCode, message);
  await expectTask(rep, requestId, row?.login ? 'assigned_rep' : 'coverage', message);
  const mail = await relay.next((candidate) => candidate.text?.includes(message) === true);
  expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe(`${repLogin}@${DEMO_REP_ROUTING.repEmailDomain}`);
  expect(mail.subject).toContain(DEMO_PORTAL_ACCOUNT.customerCode);
  expect(mail.text).toContain('商品: 投資信託 A');
});

test('a customer without an assigned rep is routed by region and product', async ({ browser }) => {
  const [second] = stack.query<{ code: string }>(
    `select c.code from portal_accounts a join customers c on c.id = a.customer_id where c.assigned_rep_id is null and c.code != ? order by c.code limit 1`,
    DEMO_PORTAL_ACCOUNT.customerCode,
  );
  expect(second).toBeDefined();
  // A second app (its own core and session), as the covering rep's own computer.
  const rep = await signInRep(browser, DEMO_REP_ROUTING.coveringRepLogin, await stack.startShell('covering-rep'));
  const message = 'A rep near me, please';
  const requestId = await contactRep(browser, second!.code, message);
  await expectTask(rep, requestId, 'coverage', message);
  const mail = await relay.next((candidate) => candidate.text?.includes(message) === true);
  expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe(`${DEMO_REP_ROUTING.coveringRepLogin}@${DEMO_REP_ROUTING.repEmailDomain}`);
});
