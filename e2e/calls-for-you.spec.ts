import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { runSipp, SIPP_SCENARIOS } from '../pbx/test-support/sipp.js';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { nationalDigits } from '../shared/phone.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { CaptureRelay } from './support/capture-relay.js';
import { stopAll } from './support/processes.js';
import { freePort, newCtiToken, removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * "Calls for you" as a branch rep sees it. Customers call the rep's SIP user through the dev
 * PBX's trunk side (SIPp); the rep's phone is not registered, so nobody answers, and Kamailio
 * reports each call to the backend (POST /api/cti/events) as it does in production. After login
 * the rep finds them in the list, records a contact history entry, and the call is handled (in
 * the backend's database too). A view-only colleague of the branch sees the list and cannot
 * mark anything handled. The rep answers another call by e-mail: the mail, prefilled from the
 * callback template, is approved by a supervisor in the review queue beside the call, reaches
 * the relay (a capture SMTP server) once, and the call is handled by it.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

let stack: Stack;
let relay: CaptureRelay;
let supervisorUrl: string;
let pbx: TestPbx;
let sippLogs: string;
let viewerUrl: string;
let repContext: BrowserContext;
let viewerContext: BrowserContext;
let rep: Page;
let viewer: Page;

interface SeededCustomer {
  id: string;
  name: string;
  e164: string;
}

/** A customer of the rep (assigned to them) with a landline only they have, of this classification. */
function repCustomer(classification: number): SeededCustomer | undefined {
  return stack.query<SeededCustomer>(
    `select c.id, c.name, min(p.e164) as e164
       from customers c
       join tenants t on t.id = c.tenant_id and t.slug = 'demo'
       join users u on u.id = c.assigned_rep_id and u.login = 'rep-shibuya'
       join customer_phones p on p.customer_id = c.id and p.e164 like '+81%'
      where c.classification = ? and (select count(*) from customer_phones q where q.e164 = p.e164) = 1
      group by c.id order by c.code limit 1`,
    classification,
  )[0];
}

/**
 * A SIPp call from `caller` to the rep's SIP user that nobody answers: while the rep is signed
 * out nobody is registered and the PBX gives up (480, reported `missed`); while they are signed
 * in their app rings and the caller hangs up first (CANCEL, reported `abandoned`). Returns the
 * Call-ID once the PBX's final report for the rep's leg is in the backend's database.
 */
async function callNobodyAnswers(caller: string, repPhone: 'off' | 'rings'): Promise<string> {
  const sipp = await runSipp({
    scenario: repPhone === 'off' ? SIPP_SCENARIOS.unansweredCall : SIPP_SCENARIOS.abandonedCall,
    target: `127.0.0.1:${pbx.udpPort}`,
    service: REP_SIP_USER,
    keys: { caller },
    logDir: sippLogs,
    timeoutSeconds: 30,
  });
  let result;
  try {
    result = await sipp.done;
  } finally {
    sipp.kill();
  }
  expect(result.errors, result.messages).toBe('');
  expect(result.exitCode, result.stderr).toBe(0);
  const callId = /^Call-ID:\s*(\S+)/im.exec(result.messages)?.[1];
  expect(callId, 'SIPp logs the INVITE it sent').toBeTruthy();
  const finalEvent = repPhone === 'off' ? 'missed' : 'abandoned';
  // Kamailio posts its events from a queue, apart from the call: wait until they arrived.
  await expect
    .poll(
      () =>
        stack
          .query<{ status: string; reported_events: string; pbx_reported: number }>(
            `select l.status, l.reported_events, l.pbx_reported
               from calls l join users u on u.id = l.agent_id and u.login = 'rep-shibuya'
              where l.external_id = ?`,
            callId,
          )
          .map((row) => ({ status: row.status, pbx: row.pbx_reported, reported: row.reported_events.includes(`,${finalEvent},`) })),
      { timeout: 20_000 },
    )
    .toEqual([{ status: 'ended', pbx: 1, reported: true }]);
  return callId!;
}

async function signIn(browser: Browser, url: string, login: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1000 } });
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
  return { context, page };
}

const REP_SIP_USER = tenantSipUser('rep-shibuya', 'demo')!;

/** A customer of the rep, other than `other`, with a landline only they have and an e-mail address. */
function repCustomerWithMail(other: string): (SeededCustomer & { email: string }) | undefined {
  return stack.query<SeededCustomer & { email: string }>(
    `select c.id, c.name, min(p.e164) as e164, min(e.email) as email
       from customers c
       join tenants t on t.id = c.tenant_id and t.slug = 'demo'
       join users u on u.id = c.assigned_rep_id and u.login = 'rep-shibuya'
       join customer_phones p on p.customer_id = c.id and p.e164 like '+81%'
       join customer_emails e on e.customer_id = c.id and e.position = 0
      where c.classification >= 2 and c.id <> ? and (select count(*) from customer_phones q where q.e164 = p.e164) = 1
      group by c.id order by c.code limit 1`,
    other,
  )[0];
}

let customer: SeededCustomer;
let confidential: SeededCustomer | undefined;
let missedKey: string;
let secretKey: string | undefined;

test.beforeAll(async ({ browser }) => {
  test.setTimeout(240_000);
  const backendPort = await freePort();
  const token = newCtiToken();
  pbx = await startTestPbx({ cti: { backendUrl: `http://127.0.0.1:${backendPort}`, token, tenants: ['demo', 'other'] } });
  relay = new CaptureRelay();
  const relayPort = await relay.listen();
  stack = await startStack({
    customers: 400,
    sip: { secret: pbx.secret, wsUrl: pbx.wsUrl },
    backendPort,
    ctiToken: token,
    extraBackendEnv: { TSUNAGU_SMTP_PORT: String(await freePort()), TSUNAGU_SMTP_RELAY_URL: `smtp://127.0.0.1:${relayPort}`, TSUNAGU_MAIL_POLL_SECONDS: '0.2' },
  });
  sippLogs = await mkdtemp(path.join(os.tmpdir(), 'tsunagu-cfy-sipp-'));
  viewerUrl = await stack.startShell('viewer');
  supervisorUrl = await stack.startShell('supervisor');
  const found = repCustomer(2) ?? repCustomer(3);
  expect(found, 'the seed should give rep-shibuya a class-2 or class-3 customer with a phone').toBeTruthy();
  customer = found!;
  confidential = repCustomer(1);
  // Two calls nobody answered while the rep was out: one from their customer, and (when the seed
  // has one) one from a class-1 customer, above the rep's authority.
  missedKey = await callNobodyAnswers(nationalDigits(customer.e164), 'off');
  if (confidential) secretKey = await callNobodyAnswers(nationalDigits(confidential.e164), 'off');
  ({ context: repContext, page: rep } = await signIn(browser, stack.shellUrl, 'rep-shibuya', 'rep-shibuya-pass'));
  ({ context: viewerContext, page: viewer } = await signIn(browser, viewerUrl, 'viewer-shibuya', 'viewer-shibuya-pass'));
});

test.afterAll(async () => {
  await repContext?.close();
  await viewerContext?.close();
  await stopAll();
  await pbx?.stop();
  await relay?.close();
  removeStackDir(stack);
  if (sippLogs) await rm(sippLogs, { recursive: true, force: true });
});

test("missed calls to the rep's phone are in their list after login, and a contact history entry handles one", async () => {
  const badge = rep.getByTestId('cfy-badge');
  await expect(badge).toBeVisible();
  await badge.click();
  const list = rep.getByTestId('calls-for-you');
  await expect(list).toHaveAttribute('data-phase', 'ready');
  const entry = list.locator(`[data-testid="cfy-entry"][data-key="${missedKey}"]`);
  await expect(entry).toContainText(customer.name);
  await expect(entry).toContainText('Missed');
  await expect(entry).toContainText('Rang: 渋谷支店 営業担当（渋谷支店）');
  await expect(entry).toHaveAttribute('data-handled', 'false');
  if (secretKey) await expect(list.locator(`[data-key="${secretKey}"]`)).toHaveCount(0);
  const unhandledBefore = Number(await list.getByTestId('cfy-counts').getAttribute('data-unhandled'));
  expect(unhandledBefore).toBeGreaterThanOrEqual(1);

  await entry.getByRole('button', { name: 'Callback text' }).click();
  await expect(entry.getByTestId('cfy-callback-text')).toContainText(`${customer.name} 様`);

  await entry.getByRole('button', { name: 'Record what you did' }).click();
  await entry.getByLabel('Summary').fill('折り返し済み。来週ご来店予定');
  await entry.getByRole('button', { name: 'Save and mark handled' }).click();
  await expect(entry).toHaveAttribute('data-handled', 'true');
  // Sent through the outbox and applied by the backend: no longer pending, and in its database.
  await expect(entry).toHaveAttribute('data-pending', 'false', { timeout: 30_000 });
  await expect(list.getByTestId('cfy-counts')).toHaveAttribute('data-unhandled', String(unhandledBefore - 1));
  const [handled] = stack.query<{ kind: string; summary: string; title: string; login: string }>(
    `select h.kind, c.summary, i.title, u.login
       from call_handling h
       join contacts c on c.id = h.contact_id
       join incidents i on i.id = c.incident_id
       join users u on u.id = h.handled_by
      where h.call_key = ?`,
    missedKey,
  );
  expect(handled).toEqual({ kind: 'contact', summary: '折り返し済み。来週ご来店予定', title: '営業店着信対応', login: 'rep-shibuya' });
  expect(stack.query(`select 1 from audit_events where action = 'call_handled'`)).toHaveLength(1);
});

test('a call missed while the rep is signed in appears without a reload', async () => {
  const list = rep.getByTestId('calls-for-you');
  const unhandledBefore = Number(await list.getByTestId('cfy-counts').getAttribute('data-unhandled'));
  const liveKey = await callNobodyAnswers(nationalDigits(customer.e164), 'rings');
  const entry = list.locator(`[data-testid="cfy-entry"][data-key="${liveKey}"]`);
  await expect(entry).toHaveAttribute('data-handled', 'false', { timeout: 30_000 });
  await expect(entry).toContainText('Missed');
  await expect(list.getByTestId('cfy-counts')).toHaveAttribute('data-unhandled', String(unhandledBefore + 1));
  await expect(rep.getByTestId('cfy-badge')).toHaveAttribute('data-count', String(unhandledBefore + 1));
});

test('a view-only user of the branch sees the calls and cannot mark one handled', async () => {
  await viewer.getByTestId('area-callsForYou').click();
  const list = viewer.getByTestId('calls-for-you');
  await expect(list).toHaveAttribute('data-phase', 'ready');
  // The view-only user is nobody's rep: their own calls are none; the branch's are there.
  await viewer.getByTestId('cfy-scope-branch').click();
  const handled = list.locator(`[data-testid="cfy-entry"][data-key="${missedKey}"]`);
  await expect(handled).toHaveAttribute('data-handled', 'true');
  await expect(handled).toContainText('Handled by 渋谷支店 営業担当');
  const unhandled = list.locator('[data-testid="cfy-entry"][data-handled="false"]');
  await expect(unhandled.first()).toBeVisible();
  await expect(list.getByRole('button', { name: 'Record what you did' })).toHaveCount(0);
  await expect(list.getByRole('button', { name: 'Create customer' })).toHaveCount(0);
  await expect(unhandled.first().getByRole('button', { name: 'Callback text' })).toBeVisible();
});

test('the rep answers a call by e-mail; a supervisor approves it beside the call; it is sent once and handles the call', async ({ browser }) => {
  const mailed = repCustomerWithMail(customer.id);
  expect(mailed, 'the seed should give rep-shibuya another customer with a phone and an e-mail address').toBeTruthy();
  const key = await callNobodyAnswers(nationalDigits(mailed!.e164), 'rings');
  const list = rep.getByTestId('calls-for-you');
  const entry = list.locator(`[data-testid="cfy-entry"][data-key="${key}"]`);
  await expect(entry).toHaveAttribute('data-handled', 'false', { timeout: 30_000 });
  await entry.getByRole('button', { name: 'Callback text' }).click();
  await entry.getByRole('button', { name: 'Write e-mail' }).click();
  const composer = entry.getByTestId('cfy-mail-composer');
  await expect(composer.getByTestId('cfy-mail-to')).toHaveText(mailed!.email);
  await expect(composer.getByLabel('Text')).toHaveValue(new RegExp(`${mailed!.name} 様`));
  await composer.getByLabel('Text').fill(`${mailed!.name} 様\n明日の午前にお電話いたします。`);
  await composer.getByRole('button', { name: 'Submit for review' }).click();
  await expect(composer).toHaveAttribute('data-status', 'submitted');

  const { context, page: supervisor } = await signIn(browser, supervisorUrl, 'super1', 'super1-pass');
  try {
    await supervisor.getByTestId('area-review').click();
    const detail = supervisor.getByTestId('review-detail');
    await expect(detail.getByTestId('review-call-number')).toHaveText(mailed!.e164);
    await expect(detail.getByTestId('review-call-rang')).toHaveText('渋谷支店 営業担当');
    await expect(detail.getByTestId('review-to')).toHaveText(mailed!.email);
    await detail.getByRole('button', { name: 'Approve and send' }).click();

    const sent = await relay.next((mail) => mail.text?.includes('明日の午前にお電話いたします。') === true);
    expect(sent.to && !Array.isArray(sent.to) ? sent.to.value[0]?.address : null).toBe(mailed!.email);
    expect(sent.inReplyTo).toBeUndefined();
    await expect
      .poll(
        () =>
          stack.query<{ kind: string; direction: string; handled: string }>(
            `select c.kind, c.direction, h.kind as handled
               from mail_replies r join contacts c on c.id = r.contact_id join call_handling h on h.call_key = r.call_key and h.contact_id = c.id
              where r.call_key = ? and r.state = 'sent'`,
            key,
          ),
        { timeout: 30_000 },
      )
      .toEqual([{ kind: 'email', direction: 'outbound', handled: 'contact' }]);
    expect(relay.received.filter((mail) => mail.text?.includes('明日の午前にお電話いたします。'))).toHaveLength(1);
  } finally {
    await context.close();
  }
});
