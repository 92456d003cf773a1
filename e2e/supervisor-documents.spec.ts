import fs from 'node:fs';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { localDate } from '../shared/reports.js';
import { stopAll } from './support/processes.js';
import { removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * A supervisor's day on the demo data (scripts/seed.ts, backend/src/seed/mail-demo.ts):
 * the demo mail and the demo fax open from the customer's incident tree (the mail sanitised in a
 * frame without scripts and with its attachment listed, the fax as PNG images rendered by the
 * backend, filed on the customer whose fax number sent it); the audit viewer then shows that
 * customer's view by the supervisor, filtered by customer, and exports it; and the daily report
 * counts the day's mails.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

let stack: Stack;
let page: Page;
const contexts: BrowserContext[] = [];

interface DemoDocument {
  kind: 'email' | 'fax';
  contact_id: string;
  incident_id: string;
  customer_id: string;
  code: string;
  subject: string;
}

let documents: DemoDocument[];

test.beforeAll(async () => {
  stack = await startStack({ customers: 60 });
  documents = stack.query<DemoDocument>(
    `select m.kind, m.contact_id, m.incident_id, m.customer_id, c.code, m.subject
       from mail_messages m join customers c on c.id = m.customer_id
      where m.message_id in ('demo-mail-demo@example.jp', 'demo-fax-demo@fax.example')
      order by m.kind`,
  );
});

test.afterAll(async () => {
  for (const context of contexts) await context.close();
  await stopAll();
  removeStackDir(stack);
});

async function signIn(browser: Browser, login: string, password: string): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  contexts.push(context);
  const opened = await context.newPage();
  opened.on('console', (message) => {
    if (message.type() === 'error') process.stderr.write(`[app ${login}] ${message.text()}\n`);
  });
  await opened.goto(stack.shellUrl);
  await opened.getByLabel('Tenant').fill('demo');
  await opened.getByLabel('Login ID').fill(login);
  await opened.getByLabel('Password').fill(password);
  await opened.getByRole('button', { name: 'Sign in' }).click();
  await expect(opened.getByTestId('user-name')).toBeVisible();
  return opened;
}

async function openCustomer(code: string): Promise<void> {
  await page.getByRole('combobox', { name: 'Search customers' }).fill(code);
  await expect(page.getByTestId('search-status')).toHaveAttribute('data-phase', 'done');
  await page.getByTestId('search-result').filter({ hasText: code }).click();
  await expect(page.getByTestId('customer-panel')).toHaveAttribute('data-phase', 'ready');
  await expect(page.getByTestId('customer-code')).toHaveText(code);
}

async function openFromTree(document: DemoDocument): Promise<void> {
  const incident = page.locator(`[data-testid="incident"][data-incident-id="${document.incident_id}"]`);
  const contact = incident.locator(`[data-testid="contact"][data-contact-id="${document.contact_id}"]`);
  if (!(await contact.isVisible())) await incident.locator('.incident-row').click();
  await contact.click();
  await page.getByTestId('open-contact-document').click();
  await expect(page.getByTestId('contact-document')).toHaveAttribute('data-kind', document.kind);
}

test('the demo mail and fax open from the incident tree, safely', async ({ browser }) => {
  const mail = documents.find((d) => d.kind === 'email');
  const fax = documents.find((d) => d.kind === 'fax');
  expect(mail, 'the seed delivers the demo mail').toBeDefined();
  expect(fax, 'the seed delivers the demo fax').toBeDefined();
  // The fax is filed on the customer whose number the gateway named, the same one as the mail's
  // sender, not on whoever the gateway's own address would match.
  expect(fax!.customer_id).toBe(mail!.customer_id);

  page = await signIn(browser, 'super1', 'super1-pass');
  await openCustomer(mail!.code);

  await openFromTree(mail!);
  const documentView = page.getByTestId('contact-document');
  await expect(documentView.getByTestId('mail-subject')).toHaveText(mail!.subject);
  await expect(documentView.getByText('order.pdf')).toBeVisible();
  const frame = documentView.locator('iframe');
  await expect(frame).toHaveCount(1);
  // An empty sandbox: no scripts, no same origin, no forms, no top navigation.
  await expect(frame).toHaveAttribute('sandbox', '');
  await expect(page.frameLocator('[data-testid="contact-document"] iframe').getByText('見積書を確認しました。', { exact: false })).toBeVisible();

  await openFromTree(fax!);
  const pages = page.getByTestId('contact-document').getByTestId('fax-page');
  await expect(pages.first()).toBeVisible();
  for (const image of await pages.all()) {
    expect(await image.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    // A rendered page, not a broken image.
    expect(await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
  }
  await expect(page.getByTestId('contact-document').locator('iframe, script, object, embed')).toHaveCount(0);
  await expect(page.getByTestId('fax-no-reply')).toBeVisible();
});

test('the audit viewer finds the supervisor’s view of that customer and exports it', async () => {
  const customerId = documents[0]!.customer_id;
  await page.getByTestId('area-audit').click();
  await page.getByTestId('audit-customer').fill(customerId);
  await page.getByTestId('audit-action').selectOption('customer_viewed');
  const rows = page.getByTestId('audit-row');
  // The view reaches the backend through the outbox; search until it has.
  await expect(async () => {
    await page.getByTestId('audit-search').click();
    await expect(rows.first()).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  for (const row of await rows.all()) {
    await expect(row).toHaveAttribute('data-customer-id', customerId);
    await expect(row).toHaveAttribute('data-action', 'customer_viewed');
  }
  await expect(rows.filter({ hasText: 'スーパーバイザー 一号' }).first()).toBeVisible();

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-export').click()]);
  const csv = fs.readFileSync((await download.path())!, 'utf8').replace(/^\uFEFF/, '');
  const lines = csv.trim().split('\r\n');
  expect(lines[0]).toBe('"at","action","user_id","user_name","customer_id","customer_name","details"');
  expect(lines.length - 1).toBe(await rows.count());
  for (const line of lines.slice(1)) {
    expect(line).toContain('"customer_viewed"');
    expect(line).toContain(`"${customerId}"`);
  }
});

test('the daily report counts the day’s mails', async () => {
  const today = localDate(new Date(), 'Asia/Tokyo');
  const received = stack.query<{ n: number }>(
    `select count(*) as n from mail_messages m join tenants t on t.id = m.tenant_id and t.slug = 'demo' where m.received_at >= ?`,
    new Date(Date.parse(`${today}T00:00:00+09:00`)).toISOString(),
  )[0]!.n;
  expect(received).toBeGreaterThanOrEqual(2);

  await page.getByTestId('area-reports').click();
  await page.getByTestId('report-period').selectOption('day');
  await page.getByTestId('report-group').selectOption('operator');
  await page.getByTestId('report-from').fill(today);
  await page.getByTestId('report-to').fill(today);
  await page.getByTestId('report-show').click();
  const nobody = page.locator(`[data-testid="report-row"][data-bucket="${today}"][data-group=""]`);
  await expect(nobody.locator('[data-column="received"]')).toHaveText(String(received));
  await expect(page.getByRole('status').filter({ hasText: 'Asia/Tokyo' })).toBeVisible();
});
