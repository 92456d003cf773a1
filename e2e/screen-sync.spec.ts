import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { DEMO_PORTAL_ACCOUNT } from '../backend/src/portal/seed.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { launchCallers, launchWithMicrophone, makeToneWav, openAgentApp, type CallerBrowser, type CallerPage } from './support/phone.js';
import { run, stopAll } from './support/processes.js';
import { removeStackDir, root, startStack, type Stack } from './support/stack.js';

/**
 * Screen sync (issue 10 item 7) end to end, with a real call: the customer's phone (a sip.js
 * caller page with the demo portal customer's number) calls the operator through Kamailio, the
 * operator answers in the app, so the backend's call leg is connected to that operator with that
 * customer (from the app's screen pop). In a second browser context the customer, signed in to
 * the portal, presses "Share my screen" and the operator types the code into the call card: the
 * app replays the customer's page in a sandboxed frame, with the typed note masked; the
 * operator's click is highlighted on the customer's page; the call's end ends the share.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const DOMAIN = '127.0.0.1';
const AGENT1 = tenantSipUser('agent1', 'demo')!;
const SECRET_NOTE = 'my secret note 4242';

let pbx: TestPbx;
let stack: Stack;
let workDir: string;
let operatorBrowser: Browser;
let callers: CallerBrowser;
let operator: Page;
let phone: CallerPage;
let customerContext: BrowserContext;
let customer: Page;

async function ensurePortalBuilt(): Promise<void> {
  if (fs.existsSync(path.join(root, 'dist', 'portal', 'index.html'))) return;
  await run(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', path.join(root, 'vite.portal.config.ts'), '--logLevel', 'warn']);
}

test.beforeAll(async ({ browser }) => {
  test.setTimeout(240_000);
  await ensurePortalBuilt();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-screen-sync-'));
  const wav = await makeToneWav(path.join(workDir, 'tone.wav'), 440);
  pbx = await startTestPbx();
  stack = await startStack({ customers: 30, sip: { secret: pbx.secret, wsUrl: pbx.wsUrl, domain: DOMAIN } });
  operatorBrowser = await launchWithMicrophone(wav);
  callers = await launchCallers({ wav, wsUrl: pbx.wsUrl, secret: pbx.secret, domain: DOMAIN });
  ({ page: operator } = await openAgentApp(operatorBrowser, stack.shellUrl, 'agent1', 'agent1-pass'));
  // The customer's phone calls from the number on their record, so the screen pop (and the call leg) names them.
  const [number] = stack.query<{ e164: string }>(
    `select p.e164 from customer_phones p join customers c on c.id = p.customer_id join tenants t on t.id = c.tenant_id and t.slug = 'demo'
     where c.code = ? order by p.position`,
    DEMO_PORTAL_ACCOUNT.customerCode,
  );
  phone = await callers.open(number!.e164.replace(/^\+81/, '0'));
  customerContext = await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 800 } });
  customer = await customerContext.newPage();
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
  await callers?.close();
  await operatorBrowser?.close();
  await stopAll();
  await pbx?.stop();
  removeStackDir(stack);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test('the operator sees the customer’s portal page with the input masked, points at it, and the share ends with the call', async () => {
  test.setTimeout(180_000);
  await customer.goto(`${stack.backendUrl}/portal/demo/`);
  await customer.getByLabel('Customer number').fill(DEMO_PORTAL_ACCOUNT.customerCode);
  await customer.getByLabel('Password').fill(DEMO_PORTAL_ACCOUNT.password);
  await customer.getByRole('button', { name: 'Sign in', exact: true }).click();
  await customer.getByRole('link', { name: '投資信託 A' }).click();
  await expect(customer.getByRole('heading', { name: '投資信託 A', level: 2 })).toBeVisible();

  // Without a call there is nothing to share.
  const share = customer.getByTestId('screen-share');
  await share.getByRole('button', { name: 'Share my screen' }).click();
  await expect(share.getByRole('alert')).toHaveText('Screen sharing works only while you are on a call with an operator.');

  await phone.call(`sip:${AGENT1}@${DOMAIN}`);
  const card = operator.getByTestId('call-card');
  await card.getByRole('button', { name: 'Answer' }).click();
  await expect(card).toHaveAttribute('data-state', 'connected');
  await expect
    .poll(() => stack.query<{ n: number }>(`select count(*) as n from calls where status = 'connected' and customer_id is not null`)[0]!.n, {
      message: 'the app reported the answered call with its customer',
      timeout: 20_000,
    })
    .toBe(1);

  await customer.getByLabel('Note (optional)').fill(SECRET_NOTE);
  await share.getByRole('button', { name: 'Share my screen' }).click();
  const code = await share.getByTestId('screen-share-code').innerText();
  expect(code).toMatch(/^\d{6}$/);

  // A wrong code first: refused, the share still waits for the right one.
  await card.getByTestId('screen-sync-open').click();
  const codeBox = card.getByLabel('Code the customer reads out');
  await codeBox.fill(code === '000000' ? '000001' : '000000');
  await card.getByRole('button', { name: 'View', exact: true }).click();
  await expect(card.getByTestId('screen-sync').getByRole('alert')).toContainText('wrong or expired code');
  await codeBox.fill(code);
  await card.getByRole('button', { name: 'View', exact: true }).click();
  await expect(card.getByTestId('screen-sync')).toHaveAttribute('data-state', 'active');
  await expect(share).toHaveAttribute('data-state', 'active');
  await expect(share.getByRole('status')).toHaveText('The operator is viewing this page.');

  // The customer's page, replayed in a frame sandboxed without scripts.
  const view = card.getByTestId('screen-sync-view');
  const frameElement = view.locator('iframe');
  await expect(frameElement).toHaveAttribute('sandbox', 'allow-same-origin');
  const frame = view.frameLocator('iframe');
  await expect(frame.getByRole('heading', { name: '投資信託 A', level: 2 })).toBeVisible({ timeout: 30_000 });
  await expect(frame.locator('.body strong')).toHaveText('安定運用');
  // What the customer typed is masked; so is what they type while shared.
  const note = frame.locator('textarea');
  await expect(note).toHaveValue(/^\*+$/);
  await customer.getByLabel('Note (optional)').fill(`${SECRET_NOTE} and more`);
  await customer.getByRole('heading', { name: '投資信託 A', level: 2 }).scrollIntoViewIfNeeded();
  await expect(note).toHaveValue(new RegExp(`^\\*{${SECRET_NOTE.length + 9}}$`));
  const replayed = await frame.locator('body').innerText();
  expect(replayed).not.toContain(SECRET_NOTE);
  expect(stack.query<{ n: number }>(`select count(*) as n from screen_sync_batches where events like ?`, `%${SECRET_NOTE}%`)[0]!.n).toBe(0);
  // The share box (with its code) is left out of the recording.
  await expect(frame.getByText(code)).toHaveCount(0);

  // The operator points at the heading: the customer sees it highlighted.
  const heading = frame.getByRole('heading', { name: '投資信託 A', level: 2 });
  // The call card is taller than the window (pop, recording state, web activity): bring the
  // heading on screen first, so the click lands on the replay and not on whatever is there.
  await heading.scrollIntoViewIfNeeded();
  const box = (await heading.boundingBox())!;
  await view.getByRole('button', { name: /^Point at this place/ }).click({ force: true, position: await positionIn(view, box) });
  await expect(card.getByTestId('screen-sync').getByRole('status').first()).toHaveText('The customer sees where you pointed.');
  const highlight = customer.getByTestId('screen-sync-highlight');
  await expect(highlight).toBeVisible({ timeout: 15_000 });
  const target = (await customer.getByRole('heading', { name: '投資信託 A', level: 2 }).boundingBox())!;
  const marked = (await highlight.boundingBox())!;
  expect(marked.x).toBeLessThanOrEqual(target.x);
  expect(marked.y).toBeLessThanOrEqual(target.y);
  expect(marked.x + marked.width).toBeGreaterThanOrEqual(target.x + target.width);

  // The call ends: so does the share, on both sides.
  await card.getByRole('button', { name: 'Hang up' }).click();
  await expect(share).toHaveAttribute('data-state', 'ended', { timeout: 15_000 });
  await expect(share.getByRole('status')).toHaveText('Screen sharing has ended.');
  const rows = stack.query<{ state: string; end_reason: string }>(`select state, end_reason from screen_sync_sessions`);
  expect(rows).toEqual([{ state: 'ended', end_reason: 'call_ended' }]);
  const audited = stack.query<{ action: string }>(`select action from audit_events where action like 'screen_sync_%' order by id`).map((row) => row.action);
  expect(audited).toEqual(['screen_sync_offered', 'screen_sync_code_refused', 'screen_sync_joined', 'screen_sync_ended']);
});

/** The point of `box` (page coordinates, from a frame inside `container`) relative to `container`. */
async function positionIn(container: ReturnType<Page['getByTestId']>, box: { x: number; y: number; width: number; height: number }) {
  const outer = (await container.boundingBox())!;
  return { x: box.x - outer.x + box.width / 2, y: box.y - outer.y + box.height / 2 };
}
