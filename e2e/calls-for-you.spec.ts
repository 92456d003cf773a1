import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { nationalDigits } from '../shared/phone.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { CaptureRelay } from './support/capture-relay.js';
import { stopAll } from './support/processes.js';
import { freePort, removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * "Calls for you" as a branch rep sees it. Calls to the rep's SIP user that nobody answers
 * reach the backend as the PBX reports them: CTI events posted with the stack's CTI token
 * (POST /api/cti/events), the same requests Kamailio's reporting makes. After login the rep
 * finds them in the list, records a contact history entry, and the call is handled (in the
 * backend's database too). A view-only colleague of the branch sees the list and cannot
 * mark anything handled. The rep answers another missed call by e-mail: the mail, prefilled
 * from the callback template, is approved by a supervisor in the review queue beside the call,
 * reaches the relay (a capture SMTP server) once, and the call is handled by it.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

let stack: Stack;
let relay: CaptureRelay;
let viewerUrl: string;
let supervisorUrl: string;
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

/** One call event as the PBX reports it. */
async function reportCall(callId: string, caller: string, event: 'ringing' | 'missed'): Promise<void> {
  const response = await fetch(`${stack.backendUrl}/api/cti/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.cti.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'demo', callId, event, caller, called: '0312340000', agent: tenantSipUser('rep-shibuya', 'demo') }),
  });
  expect(response.status, await response.text()).toBe(200);
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

test.beforeAll(async ({ browser }) => {
  test.setTimeout(240_000);
  relay = new CaptureRelay();
  const relayPort = await relay.listen();
  stack = await startStack({
    customers: 400,
    extraBackendEnv: { TSUNAGU_SMTP_PORT: String(await freePort()), TSUNAGU_SMTP_RELAY_URL: `smtp://127.0.0.1:${relayPort}`, TSUNAGU_MAIL_POLL_SECONDS: '0.2', TSUNAGU_TIME_ZONE: 'Asia/Tokyo' },
  });
  viewerUrl = await stack.startShell('viewer');
  supervisorUrl = await stack.startShell('supervisor');
  const found = repCustomer(2) ?? repCustomer(3);
  expect(found, 'the seed should give rep-shibuya a class-2 or class-3 customer with a phone').toBeTruthy();
  customer = found!;
  confidential = repCustomer(1);
  // Two calls nobody answered while the rep was out: one from their customer, and (when the seed
  // has one) one from a class-1 customer, above the rep's authority.
  await reportCall('e2e-cfy-1@pbx', nationalDigits(customer.e164), 'ringing');
  await reportCall('e2e-cfy-1@pbx', nationalDigits(customer.e164), 'missed');
  if (confidential) await reportCall('e2e-cfy-secret@pbx', nationalDigits(confidential.e164), 'missed');
  ({ context: repContext, page: rep } = await signIn(browser, stack.shellUrl, 'rep-shibuya', 'rep-shibuya-pass'));
  ({ context: viewerContext, page: viewer } = await signIn(browser, viewerUrl, 'viewer-shibuya', 'viewer-shibuya-pass'));
});

test.afterAll(async () => {
  await repContext?.close();
  await viewerContext?.close();
  await stopAll();
  await relay?.close();
  removeStackDir(stack);
});

test("missed calls to the rep's phone are in their list after login, and a contact history entry handles one", async () => {
  const badge = rep.getByTestId('cfy-badge');
  await expect(badge).toBeVisible();
  await badge.click();
  const list = rep.getByTestId('calls-for-you');
  await expect(list).toHaveAttribute('data-phase', 'ready');
  const entry = list.locator('[data-testid="cfy-entry"][data-key="e2e-cfy-1@pbx"]');
  await expect(entry).toContainText(customer.name);
  await expect(entry).toContainText('Missed');
  await expect(entry).toContainText('Rang: 渋谷支店 営業担当（渋谷支店）');
  await expect(entry).toHaveAttribute('data-handled', 'false');
  if (confidential) await expect(list.locator('[data-key="e2e-cfy-secret@pbx"]')).toHaveCount(0);
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
    'e2e-cfy-1@pbx',
  );
  expect(handled).toEqual({ kind: 'contact', summary: '折り返し済み。来週ご来店予定', title: '営業店着信対応', login: 'rep-shibuya' });
  expect(stack.query(`select 1 from audit_events where action = 'call_handled'`)).toHaveLength(1);
});

test('a call missed while the rep is signed in appears without a reload', async () => {
  const list = rep.getByTestId('calls-for-you');
  const unhandledBefore = Number(await list.getByTestId('cfy-counts').getAttribute('data-unhandled'));
  await reportCall('e2e-cfy-live@pbx', nationalDigits(customer.e164), 'ringing');
  await reportCall('e2e-cfy-live@pbx', nationalDigits(customer.e164), 'missed');
  const entry = list.locator('[data-testid="cfy-entry"][data-key="e2e-cfy-live@pbx"]');
  await expect(entry).toHaveAttribute('data-handled', 'false', { timeout: 30_000 });
  await expect(list.getByTestId('cfy-counts')).toHaveAttribute('data-unhandled', String(unhandledBefore + 1));
  await expect(rep.getByTestId('cfy-badge')).toHaveAttribute('data-count', String(unhandledBefore + 1));
});

test('a view-only user of the branch sees the calls and cannot mark one handled', async () => {
  await viewer.getByTestId('area-callsForYou').click();
  const list = viewer.getByTestId('calls-for-you');
  await expect(list).toHaveAttribute('data-phase', 'ready');
  // The view-only user is nobody's rep: their own calls are none; the branch's are there.
  await viewer.getByTestId('cfy-scope-branch').click();
  const handled = list.locator('[data-testid="cfy-entry"][data-key="e2e-cfy-1@pbx"]');
  await expect(handled).toHaveAttribute('data-handled', 'true');
  await expect(handled).toContainText('Handled by 渋谷支店 営業担当');
  const unhandled = list.locator('[data-testid="cfy-entry"][data-handled="false"]');
  await expect(unhandled.first()).toBeVisible();
  await expect(list.getByRole('button', { name: 'Record what you did' })).toHaveCount(0);
  await expect(list.getByRole('button', { name: 'Create customer' })).toHaveCount(0);
  await expect(unhandled.first().getByRole('button', { name: 'Callback text' })).toBeVisible();
});

test('the rep answers a missed call by e-mail; a supervisor approves it beside the call; it is sent once and handles the call', async ({ browser }) => {
  const mailed = repCustomerWithMail(customer.id);
  expect(mailed, 'the seed should give rep-shibuya another customer with a phone and an e-mail address').toBeTruthy();
  await reportCall('e2e-cfy-mail@pbx', nationalDigits(mailed!.e164), 'ringing');
  await reportCall('e2e-cfy-mail@pbx', nationalDigits(mailed!.e164), 'missed');
  const list = rep.getByTestId('calls-for-you');
  const entry = list.locator('[data-testid="cfy-entry"][data-key="e2e-cfy-mail@pbx"]');
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
      .poll(() => stack.query<{ kind: string; direction: string; handled: string }>(
        `select c.kind, c.direction, h.kind as handled
           from mail_replies r join contacts c on c.id = r.contact_id join call_handling h on h.call_key = r.call_key and h.contact_id = c.id
          where r.call_key = ? and r.state = 'sent'`,
        'e2e-cfy-mail@pbx',
      ), { timeout: 30_000 })
      .toEqual([{ kind: 'email', direction: 'outbound', handled: 'contact' }]);
    expect(relay.received.filter((mail) => mail.text?.includes('明日の午前にお電話いたします。'))).toHaveLength(1);
  } finally {
    await context.close();
  }
});
