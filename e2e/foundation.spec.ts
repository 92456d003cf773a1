import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { formatPhoneForDisplay, nationalDigits } from '../shared/phone.js';
import { stopAll } from './support/processes.js';
import { removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * The foundation end to end: login → first sync → search by kana and by a phone written three
 * ways → incident tree; then the backend goes away, search keeps working from the cache, a
 * note waits in the outbox, and arrives on the server exactly once when the backend is back.
 */

test.use({ locale: 'en-US' });

let stack: Stack;

interface SeededCustomer {
  id: string;
  name: string;
  name_kana: string;
  code: string;
  e164: string;
}

test.beforeAll(async () => {
  stack = await startStack({ customers: 300 });
});

test.afterAll(async () => {
  await stopAll();
  removeStackDir(stack);
});

async function expectNoSeriousA11yViolations(page: Page, screen: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help}`)).toEqual([]);
}

function katakanaToHiragana(text: string): string {
  return text.replace(/[\u30a1-\u30f6]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0x60));
}

async function search(page: Page, query: string): Promise<void> {
  const box = page.getByRole('combobox', { name: 'Search customers' });
  await box.fill(query);
  await expect(page.getByTestId('search-status')).toHaveAttribute('data-phase', 'done');
}

test('an operator finds a customer online and offline, and a note made offline arrives once', async ({ page }, testInfo) => {
  // A Japanese customer with a reading long enough for a 3-character substring, a landline
  // and at least one incident: the kind of record an operator looks up all day.
  const [customer] = stack.query<SeededCustomer>(
    `select c.id, c.name, c.name_kana, c.code, p.e164
       from customers c
       join tenants t on t.id = c.tenant_id and t.slug = 'demo'
       join customer_phones p on p.customer_id = c.id and p.kind = 'landline'
      where c.classification = 3 and length(c.name_kana) >= 6
        and exists (select 1 from incidents i where i.customer_id = c.id)
      order by c.code limit 1`,
  );
  expect(customer, 'the seed should contain a suitable customer').toBeTruthy();
  const incidentCount = stack.query<{ n: number }>('select count(*) as n from incidents where customer_id = ?', customer!.id)[0]!.n;

  await page.goto(stack.shellUrl);
  await expectNoSeriousA11yViolations(page, 'login');

  await page.getByLabel('Tenant').fill('demo');
  await page.getByLabel('Login ID').fill('agent1');
  await page.getByLabel('Password').fill('agent1-pass');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('user-name')).toBeVisible();

  // First sync ends with the whole visible customer base in the cache.
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-phase', 'idle', { timeout: 60_000 });
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-online', 'true');

  // A hiragana substring of the katakana reading (the middle of it, not a prefix).
  const reading = customer!.name_kana.replace(/\s/g, '');
  const kanaQuery = katakanaToHiragana(reading.slice(1, 4));
  await search(page, kanaQuery);
  await expect(page.getByTestId('search-result').filter({ hasText: customer!.code })).toBeVisible();
  await expectNoSeriousA11yViolations(page, 'search');

  // The same phone written three ways finds the same customer.
  const written = [formatPhoneForDisplay(customer!.e164), nationalDigits(customer!.e164), `+81 ${nationalDigits(customer!.e164).slice(1)}`];
  for (const phone of written) {
    await search(page, phone);
    await expect(page.getByTestId('search-result').filter({ hasText: customer!.code }), phone).toBeVisible();
  }

  await page.getByTestId('search-result').filter({ hasText: customer!.code }).click();
  const panel = page.getByTestId('customer-panel');
  await expect(panel).toHaveAttribute('data-phase', 'ready');
  await expect(page.getByTestId('customer-code')).toHaveText(customer!.code);
  await expect(page.getByTestId('incident-tree').getByTestId('incident')).toHaveCount(incidentCount);
  await expectNoSeriousA11yViolations(page, 'customer');
  await page.screenshot({ path: testInfo.outputPath('customer-online.png'), fullPage: true });

  // The backend goes away: the app says so, and the cache keeps answering.
  await stack.stopBackend();
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-online', 'false', { timeout: 60_000 });
  await search(page, customer!.code);
  await expect(page.getByTestId('search-result').filter({ hasText: customer!.code })).toBeVisible();
  await page.getByTestId('search-result').filter({ hasText: customer!.code }).click();
  await expect(page.getByTestId('customer-code')).toHaveText(customer!.code);

  const noteText = `Offline note ${Date.now()}: customer asked for a callback after 15:00`;
  await page.getByTestId('incident-tree').getByTestId('incident').first().click();
  await page.getByLabel('Note', { exact: true }).fill(noteText);
  await page.getByRole('button', { name: 'Save note' }).click();
  const pendingContact = page.getByTestId('contact').filter({ hasText: noteText.slice(0, 40) });
  await expect(pendingContact).toHaveAttribute('data-pending', 'true');
  await expect(page.getByTestId('pending-count')).toHaveAttribute('data-count', '1');
  await page.screenshot({ path: testInfo.outputPath('note-pending-offline.png'), fullPage: true });

  // Back online: the note is pushed once and stops being pending.
  await stack.startBackend();
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-online', 'true', { timeout: 60_000 });
  await expect(page.getByTestId('pending-count')).toHaveAttribute('data-count', '0', { timeout: 60_000 });
  await expect(page.getByTestId('contact').filter({ hasText: noteText.slice(0, 40) })).toHaveAttribute('data-pending', 'false');

  const stored = stack.query<{ n: number }>('select count(*) as n from contacts where body = ?', noteText);
  expect(stored[0]!.n).toBe(1);
});

test('the dev PBX has CTI access with its own token, for the tenants it serves only', async ({ request }) => {
  const route = (tenant: string, token?: string) =>
    request.get(`${stack.backendUrl}/api/cti/route?tenant=${tenant}&caller=0312345678`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  expect((await route('demo', stack.cti.token)).status()).toBe(200);
  expect((await route('other', stack.cti.token)).status()).toBe(200);
  expect((await route('demo')).status()).toBe(401);
  expect((await route('third', stack.cti.token)).status()).toBe(403);
});
