import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { stopAll } from './support/processes.js';
import { removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * The admin console end to end: an admin raises a customer's classification and lowers an
 * operator's customer-limit authority in the app; the operator's app (its own core and cache)
 * drops both customers it may no longer hold, and the audit viewer shows both changes. Then the
 * admin gives an operator an extension as SIP user (the PBX routing reads it at once: see
 * backend/src/users/sip-user-routing.test.ts), is told when one is taken, and sets the tenant's
 * report time zone.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

let stack: Stack;
const contexts: BrowserContext[] = [];
/** The admin's window of the first test, kept for the later console steps. */
let adminPage: Page;

test.beforeAll(async () => {
  stack = await startStack({ customers: 60 });
});

test.afterAll(async () => {
  for (const context of contexts) await context.close();
  await stopAll();
  removeStackDir(stack);
});

async function signIn(browser: Browser, url: string, login: string, password: string): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1000 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') process.stderr.write(`[app ${login}] ${message.text()}\n`);
  });
  await page.goto(url);
  await page.getByLabel('Tenant').fill('demo');
  await page.getByLabel('Login ID').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('user-name')).toBeVisible();
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-phase', 'idle', { timeout: 60_000 });
  return page;
}

/** How many results the operator's search (answered from its local cache) finds for a customer code. */
async function searchHits(page: Page, code: string): Promise<number> {
  const box = page.getByRole('combobox', { name: 'Search customers' });
  await box.fill('');
  await box.fill(code);
  await expect(page.getByTestId('search-status')).toHaveAttribute('data-phase', 'done');
  return page.getByTestId('search-result').count();
}

interface SeededCustomer {
  id: string;
  code: string;
  name: string;
}

/** A demo customer with this classification (agent1 has no branch: every branch's customers are in reach). */
function customerOfClass(classification: number): SeededCustomer {
  const [customer] = stack.query<SeededCustomer>(
    `select c.id, c.code, c.name from customers c join tenants t on t.id = c.tenant_id and t.slug = 'demo'
      where c.classification = ? order by c.code limit 1`,
    classification,
  );
  if (!customer) throw new Error(`no demo customer of class ${classification}`);
  return customer;
}

test("an admin's changes of a classification and of an operator's authority reach the operator's cache and the audit log", async ({ browser }) => {
  // Two windows sign in and sync before anything happens.
  test.setTimeout(300_000);
  const classThree = customerOfClass(3);
  const classTwo = customerOfClass(2);
  const agent = await signIn(browser, stack.shellUrl, 'agent1', 'agent1-pass');
  // agent1 may read classes 2 and 3 (authority 2): both are in the operator's cache.
  expect(await searchHits(agent, classThree.code)).toBe(1);
  expect(await searchHits(agent, classTwo.code)).toBe(1);

  // The admin works in a browser shell of their own (its own core and cache), as on another computer.
  const admin = await signIn(browser, await stack.startShell('admin'), 'admin', 'admin-pass');
  adminPage = admin;
  await admin.getByTestId('area-admin').click();
  await expect(admin.getByTestId('admin-console')).toBeVisible();

  // 1. The class-3 customer becomes class 1.
  await admin.getByTestId('admin-tab-customers').click();
  await admin.getByLabel('Find a customer').fill(classThree.code);
  await admin.getByRole('button', { name: 'Find', exact: true }).click();
  await admin.getByTestId('admin-customer-hit').first().click();
  const customerForm = admin.getByTestId('admin-customer-form');
  await expect(customerForm).toHaveAttribute('data-customer-id', classThree.id);
  await customerForm.getByLabel('Classification').selectOption('1');
  await customerForm.getByRole('button', { name: 'Save customer' }).click();
  await expect(customerForm.getByRole('status')).toHaveText('Saved');

  // 2. agent1's authority goes from 2 to 3: class-2 customers leave their reach.
  await admin.getByTestId('admin-tab-users').click();
  await admin.getByRole('button', { name: 'Edit agent1' }).click();
  const editor = admin.getByTestId('admin-user-editor');
  await editor.getByLabel('Customer-limit authority').selectOption('3');
  await editor.getByRole('button', { name: 'Save rights' }).click();
  await expect(editor.getByRole('status').first()).toHaveText('Saved');
  expect(stack.query<{ customer_limit_authority: number }>(`select customer_limit_authority from users where login = 'agent1' and tenant_id = (select id from tenants where slug = 'demo')`)[0]?.customer_limit_authority).toBe(3);

  // The operator's app pulls on the backend's poke and purges both from its cache.
  await expect.poll(() => searchHits(agent, classThree.code), { timeout: 30_000 }).toBe(0);
  await expect.poll(() => searchHits(agent, classTwo.code), { timeout: 30_000 }).toBe(0);

  // The audit viewer shows both changes, by the admin.
  await admin.getByTestId('area-audit').click();
  await admin.getByTestId('audit-action').selectOption('rights_changed');
  await admin.getByTestId('audit-search').click();
  await expect(admin.getByTestId('audit-row').first()).toHaveAttribute('data-action', 'rights_changed');
  await admin.getByTestId('audit-action').selectOption('customer_updated');
  await admin.getByTestId('audit-search').click();
  const updated = admin.getByTestId('audit-row').first();
  await expect(updated).toHaveAttribute('data-action', 'customer_updated');
  await expect(updated).toContainText(classThree.name);
});

test("an admin sets an operator's SIP user in the console, is told when one is taken, and sets the tenant's report time zone", async () => {
  const admin = adminPage;
  await admin.getByTestId('area-admin').click();
  await admin.getByTestId('admin-tab-users').click();
  await admin.getByRole('button', { name: 'Edit agent2' }).click();
  const account = admin.getByTestId('admin-user-editor').getByTestId('admin-profile-form');
  const sipUser = account.getByLabel('SIP user');
  await expect(sipUser).toHaveValue('agent2.demo');
  // agent1's SIP user is taken: the backend's 409 shows beside the field.
  await sipUser.fill('agent1.demo');
  await account.getByRole('button', { name: 'Save account' }).click();
  await expect(account.getByTestId('field-error')).toContainText('already in use');
  await expect(sipUser).toHaveAttribute('aria-invalid', 'true');

  await sipUser.fill('2102');
  await account.getByRole('button', { name: 'Save account' }).click();
  await expect(account.getByRole('status')).toHaveText('Saved');
  await expect(admin.locator('[data-testid="admin-user-row"][data-login="agent2"]').getByTestId('admin-user-sip')).toHaveText('2102');
  const demo = `(select id from tenants where slug = 'demo')`;
  expect(stack.query<{ sip_user: string }>(`select sip_user from users where login = 'agent2' and tenant_id = ${demo}`)).toEqual([{ sip_user: '2102' }]);
  const audited = stack.query<{ details: string }>(`select details from audit_events where action = 'user_updated' and tenant_id = ${demo} order by id desc limit 1`);
  expect(JSON.parse(audited[0]!.details)).toMatchObject({ before: { sipUser: 'agent2.demo' }, after: { sipUser: '2102' } });

  // The reports count days in the tenant's zone from now on (backend/src/users/tenant-settings.test.ts).
  await admin.getByTestId('admin-tab-tenant').click();
  const zone = admin.getByLabel('Time zone of reports');
  await expect(zone).toHaveValue('');
  await zone.selectOption('Europe/London');
  await admin.getByRole('button', { name: 'Save tenant settings' }).click();
  await expect(admin.getByTestId('admin-tenant').getByRole('status')).toHaveText('Saved');
  expect(stack.query<{ time_zone: string }>(`select time_zone from tenants where slug = 'demo'`)).toEqual([{ time_zone: 'Europe/London' }]);
});
