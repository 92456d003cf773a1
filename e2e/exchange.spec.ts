import fs from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { nationalDigits } from '../shared/phone.js';
import { stopAll } from './support/processes.js';
import { removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * The PII-stripped exchange end to end: the admin previews and creates an export of the demo
 * tenant's calls, shares it with the demo partner's organisation and downloads the CSV, which
 * holds none of the customers' names, kana, codes, e-mail addresses or numbers; the partner
 * user signs in to a window that has nothing but the exchange view (no phone, no search, no
 * sync, no cache on disk), sees the shared exports and downloads one.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const PARTNER_ORG = '協力サポート株式会社';
let stack: Stack;
const contexts: BrowserContext[] = [];
/** The admin's window of the first test, kept for the console step of the last one. */
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
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
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
  return page;
}

interface SeededPerson {
  name: string;
  name_kana: string;
  code: string;
  emails: string | null;
  phones: string | null;
}

/** Every demo customer's personal values, the way they are stored and the way people write numbers. */
function personalValues(): string[] {
  const people = stack.query<SeededPerson>(
    `select c.name, c.name_kana, c.code,
            (select group_concat(email, ' ') from customer_emails e where e.customer_id = c.id) as emails,
            (select group_concat(e164, ' ') from customer_phones p where p.customer_id = c.id) as phones
       from customers c join tenants t on t.id = c.tenant_id and t.slug = 'demo'`,
  );
  expect(people.length).toBeGreaterThan(0);
  return people.flatMap((person) => {
    const phones = (person.phones ?? '').split(' ').filter(Boolean);
    return [
      person.name,
      person.name.replace(/\s+/g, ''),
      person.name_kana,
      person.code,
      ...(person.emails ?? '').split(' ').filter(Boolean),
      ...phones,
      ...phones.map((e164) => nationalDigits(e164)),
    ].filter((value) => value.trim().length >= 3);
  });
}

async function expectNoSeriousA11yViolations(page: Page, screen: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help}`)).toEqual([]);
}

function leftovers(content: string, values: string[]): string[] {
  const forms = [content, content.normalize('NFKC')];
  return values.filter((value) => forms.some((form) => form.includes(value) || form.includes(value.normalize('NFKC'))));
}

test('an admin previews, creates, shares and downloads an export with no personal data in it', async ({ browser }) => {
  const admin = await signIn(browser, stack.shellUrl, 'admin', 'admin-pass');
  adminPage = admin;
  await expect(admin.getByTestId('sync-status')).toHaveAttribute('data-phase', 'idle', { timeout: 60_000 });
  await admin.getByTestId('area-exchange').click();
  const screen = admin.getByTestId('exchange-admin');
  await screen.getByRole('checkbox', { name: 'Call' }).check();
  await screen.getByRole('checkbox', { name: 'Note' }).check();
  await screen.getByRole('button', { name: 'Preview' }).click();
  const preview = admin.getByTestId('exchange-preview');
  await expect(preview.getByTestId('exchange-preview-record').first()).toBeVisible();
  const previewText = (await preview.textContent()) ?? '';
  expect(previewText).toMatch(/PERSON-[A-Z]{10}/);
  const values = personalValues();
  expect(leftovers(previewText, values)).toEqual([]);
  await expectNoSeriousA11yViolations(admin, 'exchange (admin)');

  await screen.getByLabel('Name of the export').fill('E2E calls and notes');
  await screen.getByRole('button', { name: 'Create export' }).click();
  const row = admin.getByTestId('exchange-export').filter({ hasText: 'E2E calls and notes' });
  await expect(row).toBeVisible();
  await row.getByLabel('Partner to share E2E calls and notes with').selectOption(PARTNER_ORG);
  await row.getByRole('button', { name: 'Share' }).click();
  await expect(row.getByTestId('exchange-shared-with')).toHaveText(PARTNER_ORG);

  const downloading = admin.waitForEvent('download');
  await row.getByRole('button', { name: 'Download E2E calls and notes as CSV' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/\.csv$/);
  const csv = fs.readFileSync((await download.path())!, 'utf8');
  expect(csv.split('\r\n').length).toBeGreaterThan(2);
  expect(leftovers(csv, values)).toEqual([]);

  const audited = stack.query<{ action: string }>(`select action from audit_events where action like 'exchange_%' order by id`).map((event) => event.action);
  expect(audited).toEqual(expect.arrayContaining(['exchange_created', 'exchange_shared', 'exchange_downloaded']));
});

test('a partner user sees the exchange view and nothing else', async ({ browser }) => {
  const partnerUrl = await stack.startShell('partner');
  const partner = await signIn(browser, partnerUrl, 'partner1', 'partner1-pass');
  const view = partner.getByTestId('partner-exchange');
  await expect(view).toBeVisible();
  await expect(view.getByTestId('exchange-exports')).toHaveAttribute('data-phase', 'ready');
  // The seed's export and the one the admin just shared.
  await expect(view.getByTestId('exchange-export')).toHaveCount(2);
  await expect(view.getByTestId('exchange-export').filter({ hasText: 'E2E calls and notes' }).getByTestId('exchange-shared-with')).toHaveText(PARTNER_ORG);
  await expect(view.getByRole('button', { name: 'Share' })).toHaveCount(0);
  await expectNoSeriousA11yViolations(partner, 'exchange (partner)');

  const downloading = partner.waitForEvent('download');
  await view.getByRole('button', { name: 'Download E2E calls and notes as JSON' }).click();
  const json = JSON.parse(fs.readFileSync((await (await downloading).path())!, 'utf8')) as { records: unknown[] };
  expect(json.records.length).toBeGreaterThan(0);

  // Nothing of the operator's app: no phone, no search, no work areas, no sync.
  await expect(partner.getByTestId('phone')).toHaveCount(0);
  await expect(partner.getByRole('combobox', { name: 'Search customers' })).toHaveCount(0);
  await expect(partner.getByTestId('area-customers')).toHaveCount(0);
  await expect(partner.getByTestId('sync-status')).toHaveCount(0);
  // And no cache of customers on this computer.
  const cacheFiles = fs.readdirSync(path.join(stack.dir, 'app-partner'), { recursive: true }).map(String).filter((name) => /\.(db|sqlite)/.test(name));
  expect(cacheFiles).toEqual([]);
});

test('an admin creates a partner user in the console, who sees the exports shared with its organisation', async ({ browser }) => {
  const admin = adminPage;
  await admin.getByTestId('area-admin').click();
  const form = admin.getByTestId('admin-create-user');
  await form.getByLabel('Login', { exact: true }).fill('partner-e2e');
  await form.getByLabel('Name', { exact: true }).fill('協力 三郎');
  await form.getByLabel('Initial password').fill('partner-e2e-pass');
  await form.getByLabel('Role').selectOption('partner');
  // A partner user gets none of the staff fields.
  await expect(form.getByLabel(/^Branch/)).toHaveCount(0);
  await expect(form.getByLabel('Customer-limit authority')).toHaveCount(0);
  await expect(form.getByLabel('SIP user')).toHaveCount(0);
  // The seed's organisation is offered; the admin picks it.
  await expect(form.getByTestId('admin-partner-orgs').locator('option')).toHaveCount(1);
  await form.getByLabel('Partner organisation').fill(PARTNER_ORG);
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.getByRole('status')).toHaveText('User partner-e2e created');
  const row = admin.locator('[data-testid="admin-user-row"][data-login="partner-e2e"]');
  await expect(row.getByTestId('admin-user-org')).toContainText(PARTNER_ORG);
  expect(stack.query<{ role: string; partner_org: string; sip_user: string | null; branch: string | null }>(
    `select role, partner_org, sip_user, branch from users where login = 'partner-e2e'`,
  )).toEqual([{ role: 'partner', partner_org: PARTNER_ORG, sip_user: null, branch: null }]);

  const partner = await signIn(browser, await stack.startShell('partner-e2e'), 'partner-e2e', 'partner-e2e-pass');
  const view = partner.getByTestId('partner-exchange');
  await expect(view.getByTestId('exchange-exports')).toHaveAttribute('data-phase', 'ready');
  await expect(view.getByTestId('exchange-export')).toHaveCount(2);
  await expect(view.getByTestId('exchange-export').filter({ hasText: 'E2E calls and notes' })).toBeVisible();
  await expect(partner.getByTestId('area-customers')).toHaveCount(0);
});
