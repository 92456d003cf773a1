import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_PORTAL_ACCOUNT } from '../backend/src/portal/seed.js';
import { run, stopAll } from './support/processes.js';
import { removeStackDir, root, startStack, type Stack } from './support/stack.js';

/**
 * Issue 10 items 1–3 as the two sides see them, in two browser contexts against one backend: a
 * customer signs in on the portal, views a product (a web action sent as a beacon), gets 404
 * for a page above their rank; the operator's app, already signed in, shows the action in that
 * customer's record — the panel's recent web activity and the incident tree — through the change log.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

let stack: Stack;
let customerContext: BrowserContext;
let staffContext: BrowserContext;
let customer: Page;
let operator: Page;

async function ensurePortalBuilt(): Promise<void> {
  if (fs.existsSync(path.join(root, 'dist', 'portal', 'index.html'))) return;
  await run(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', path.join(root, 'vite.portal.config.ts'), '--logLevel', 'warn']);
}

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  test.setTimeout(240_000);
  await ensurePortalBuilt();
  stack = await startStack({ customers: 30 });
  customerContext = await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 800 } });
  staffContext = await browser.newContext({ locale: 'en-US' });
  customer = await customerContext.newPage();
  operator = await staffContext.newPage();
  for (const [name, page] of [
    ['portal', customer],
    ['app', operator],
  ] as const) {
    page.on('console', (message) => {
      if (message.type() === 'error') process.stderr.write(`[${name}] ${message.text()}\n`);
    });
  }
});

test.afterAll(async () => {
  await customerContext?.close();
  await staffContext?.close();
  await stopAll();
  removeStackDir(stack);
});

test('a customer’s product view on the portal shows in the operator’s record of them', async () => {
  // The operator is signed in, first sync done, before the customer does anything.
  await operator.goto(stack.shellUrl);
  await operator.getByLabel('Tenant').fill('demo');
  await operator.getByLabel('Login ID').fill('agent1');
  await operator.getByLabel('Password').fill('agent1-pass');
  await operator.getByRole('button', { name: 'Sign in' }).click();
  await expect(operator.getByTestId('sync-status')).toHaveAttribute('data-phase', 'idle', { timeout: 60_000 });

  // The customer signs in on the portal, served by the backend with its strict CSP.
  const response = await customer.goto(`${stack.backendUrl}/portal/demo/`);
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
  await expect(customer.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  const axe = await new AxeBuilder({ page: customer }).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
  await customer.getByLabel('Customer number').fill(DEMO_PORTAL_ACCOUNT.customerCode);
  await customer.getByLabel('Password').fill('wrong-password-1');
  await customer.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(customer.getByRole('alert')).toContainText('wrong customer number or password');
  await customer.getByLabel('Password').fill(DEMO_PORTAL_ACCOUNT.password);
  await customer.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(customer.getByRole('heading', { name: 'Products' })).toBeVisible();
  // Rank 2: the rank-4 product is neither listed nor reachable (404, "not found").
  await expect(customer.getByRole('link', { name: '投資信託 A' })).toBeVisible();
  await expect(customer.getByRole('link', { name: 'プライベートバンキング' })).toHaveCount(0);
  await customer.goto(`${stack.backendUrl}/portal/demo/#/p/private-banking`);
  await expect(customer.getByRole('alert')).toHaveText('This page was not found.');

  await customer.goto(`${stack.backendUrl}/portal/demo/#/`);
  await customer.getByRole('link', { name: '投資信託 A' }).click();
  await expect(customer.getByRole('heading', { name: '投資信託 A', level: 2 })).toBeVisible();
  await expect(customer.locator('.body strong')).toHaveText('安定運用');

  const [record] = stack.query<{ id: string }>(
    `select c.id from customers c join tenants t on t.id = c.tenant_id and t.slug = 'demo' where c.code = ?`,
    DEMO_PORTAL_ACCOUNT.customerCode,
  );
  await expect
    .poll(() => stack.query<{ n: number }>(`select count(*) as n from portal_events where customer_id = ? and kind = 'page_view'`, record!.id)[0]!.n, {
      message: 'the page view reaches the backend as a beacon',
      timeout: 20_000,
    })
    .toBe(1);

  // The operator opens the customer: the web action is in their cache, in the panel and the tree.
  const box = operator.getByRole('combobox', { name: 'Search customers' });
  await box.fill(DEMO_PORTAL_ACCOUNT.customerCode);
  const result = operator.getByTestId('search-result').filter({ hasText: DEMO_PORTAL_ACCOUNT.customerCode });
  await expect(async () => {
    await result.click();
    await expect(operator.getByTestId('web-activity-item').first()).toContainText('Viewed 投資信託 A', { timeout: 2000 });
  }).toPass({ timeout: 30_000 });
  const panel = operator.getByTestId('customer-panel');
  await expect(panel.getByTestId('web-activity-item').first()).toContainText(/minute/);
  const incident = panel.getByTestId('incident').filter({ hasText: 'Webアクティビティ' });
  await expect(incident).toBeVisible();
  if (!(await incident.getByTestId('contact').first().isVisible())) await incident.locator('.incident-row').click();
  await expect(incident.getByTestId('contact').first()).toContainText('Viewed 投資信託 A');
});
