import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { CaptureRelay } from './support/capture-relay.js';
import { stopAll } from './support/processes.js';
import { freePort, removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * The e-mail channel end to end, in the browser shell: a mail sent over SMTP to the backend is
 * offered to the idle operator, answered with a template and submitted; a supervisor (another
 * shell, another browser context) reviews it beside the customer's mail and approves it; the
 * relay (a capture SMTP server here) receives it threaded to the customer's mail; the sent reply
 * shows in the incident tree. Then a return with a comment, and a hostile HTML mail that must
 * run no script, load no tracker until asked, and never navigate the app. An admin's edit of a
 * reply template in the console reaches the operator's next reply.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const SUPPORT_ADDRESS = 'support@demo.tsunagu.localhost';
const APP_TITLE = 'Tsunagu — Contact center';

/** A "tracker" on loopback: records every request, so a test can say nothing was fetched. */
class Tracker {
  readonly hits: string[] = [];
  readonly #waiters: Array<{ path: string; resolve: () => void }> = [];
  readonly server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    this.hits.push(url);
    for (const waiter of [...this.#waiters]) {
      if (!url.startsWith(waiter.path)) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    if (url.startsWith('/landing')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      // The icon link keeps the browser from asking this host for /favicon.ico.
      response.end('<!doctype html><title>Landing</title><link rel="icon" href="data:,"><p>outside page</p>');
      return;
    }
    response.writeHead(200, { 'content-type': 'image/gif', 'cache-control': 'no-store' });
    response.end(Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64'));
  });
  port = 0;

  hit(path: string): Promise<void> {
    if (this.hits.some((url) => url.startsWith(path))) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ path, resolve }));
  }

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let stack: Stack;
let relay: CaptureRelay;
let tracker: Tracker;
let smtpPort: number;
let supervisorUrl: string;
let operatorContext: BrowserContext;
let supervisorContext: BrowserContext;
let operator: Page;
let supervisor: Page;
/** Everything the operator's window did that it must never do. */
const operatorMisbehaviour: string[] = [];

async function sendMail(mail: { from: string; subject: string; text: string; html?: string; messageId: string }): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ to: SUPPORT_ADDRESS, ...mail });
  } finally {
    transport.close();
  }
}

async function signIn(page: Page, url: string, login: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Tenant').fill('demo');
  await page.getByLabel('Login ID').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('user-name')).toBeVisible();
}

/** Checks the mail work areas (and their navigation); other parts of the window have their own tests. */
async function expectNoSeriousA11yViolations(page: Page, screen: string): Promise<void> {
  // The mail frame is sandboxed without script: axe cannot run inside it (its content is the
  // customer's, not ours).
  const results = await new AxeBuilder({ page })
    .include('.work-area-nav')
    .include('.mail-pane')
    .exclude('[data-testid="mail-frame"]')
    .analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${screen}: ${v.id} (${v.impact}) ${v.help} ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

async function openContext(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1000 } });
  return { context, page: await context.newPage() };
}

test.beforeAll(async ({ browser }) => {
  test.setTimeout(240_000);
  relay = new CaptureRelay();
  tracker = new Tracker();
  const relayPort = await relay.listen();
  await tracker.listen();
  smtpPort = await freePort();
  stack = await startStack({
    customers: 60,
    extraBackendEnv: {
      TSUNAGU_SMTP_PORT: String(smtpPort),
      TSUNAGU_SMTP_RELAY_URL: `smtp://127.0.0.1:${relayPort}`,
      TSUNAGU_MAIL_POLL_SECONDS: '0.2',
      TSUNAGU_TIME_ZONE: 'Asia/Tokyo',
    },
  });
  supervisorUrl = await stack.startShell('supervisor');

  ({ context: operatorContext, page: operator } = await openContext(browser));
  ({ context: supervisorContext, page: supervisor } = await openContext(browser));
  operator.on('dialog', (dialog) => {
    operatorMisbehaviour.push(`dialog: ${dialog.type()} ${dialog.message()}`);
    void dialog.dismiss();
  });
  await signIn(operator, stack.shellUrl, 'agent1', 'agent1-pass');
  await signIn(supervisor, supervisorUrl, 'super1', 'super1-pass');
  // From here on the operator's window must stay on the app's own page.
  const appUrl = operator.url();
  operator.on('framenavigated', (frame) => {
    if (frame === operator.mainFrame() && frame.url() !== appUrl) operatorMisbehaviour.push(`navigated to ${frame.url()}`);
  });
});

test.afterAll(async () => {
  await operatorContext?.close();
  await supervisorContext?.close();
  await stopAll();
  await relay?.close();
  await tracker?.close();
  removeStackDir(stack);
});

test('a mail sent over SMTP is offered, answered with a template, approved by a supervisor and sent threaded', async () => {
  const testInfo = test.info();
  const stamp = Date.now();
  const customerAddress = `kenji.tanaka.${stamp}@example.net`;
  const customerMessageId = `<order-${stamp}@example.net>`;
  const subject = `Where is my order ${stamp}?`;

  // The operator is idle on the mail desk when the mail arrives.
  await operator.getByTestId('area-mail').click();
  await expect(operator.getByTestId('mail-desk')).toHaveAttribute('data-phase', 'none');
  await sendMail({ from: `Kenji Tanaka <${customerAddress}>`, subject, text: 'I ordered last week and nothing came.', messageId: customerMessageId });

  const offered = operator.getByTestId('offered-mail');
  await expect(offered.getByTestId('mail-subject')).toHaveText(subject, { timeout: 30_000 });
  await expect(offered.getByTestId('mail-from')).toContainText(customerAddress);
  await expectNoSeriousA11yViolations(operator, 'mail desk');

  await offered.getByLabel('Template').selectOption({ label: 'Reply (English)' });
  const body = offered.getByLabel('Reply text');
  await expect(body).toHaveValue(/^Dear Kenji Tanaka,/);
  await expect(body).toHaveValue(/Thank you for contacting us about INC-\d+\./);
  await expect(body).toHaveValue(/オペレーター 一号$/);
  const replyText = (await body.inputValue()).replace('\n\n\n\n', '\n\nYour parcel left our warehouse today.\n\n');
  await body.fill(replyText);
  await offered.getByRole('button', { name: 'Submit for review' }).click();
  await expect(operator.getByTestId('desk-outcome')).toHaveText(`Submitted for review: ${subject}`);
  await operator.screenshot({ path: testInfo.outputPath('operator-submitted.png'), fullPage: true });

  // The supervisor sees it in the queue, beside the customer's mail and the incident.
  await expect(supervisor.getByTestId('area-review')).toHaveAttribute('data-count', '1', { timeout: 30_000 });
  await supervisor.getByTestId('area-review').click();
  const detail = supervisor.getByTestId('review-detail');
  await expect(detail.getByTestId('review-subject')).toContainText(subject);
  await expect(detail.getByTestId('mail-subject')).toHaveText(subject);
  await expect(detail.getByTestId('review-body')).toContainText('Your parcel left our warehouse today.');
  await expect(detail.getByTestId('review-author')).toHaveText('オペレーター 一号');
  await expect(detail.getByTestId('incident-tree').getByTestId('incident')).toHaveCount(1);
  await expect(supervisor.getByTestId('review-shortcuts')).toContainText('approve');
  await expectNoSeriousA11yViolations(supervisor, 'review queue');
  await supervisor.screenshot({ path: testInfo.outputPath('supervisor-review.png'), fullPage: true });
  await detail.getByRole('button', { name: 'Approve and send' }).click();
  await expect(supervisor.getByTestId('review-done')).toContainText('Approved');

  // The relay receives it once, threaded to the customer's mail.
  const sent = await relay.next((mail) => mail.inReplyTo === customerMessageId);
  expect(sent.to && !Array.isArray(sent.to) ? sent.to.value.map((a) => a.address) : []).toEqual([customerAddress]);
  expect(sent.subject).toMatch(new RegExp(`^Re: Where is my order ${stamp}\\? \\[#INC-\\d+-[0-9A-Z]{8}\\]$`));
  const references = Array.isArray(sent.references) ? sent.references : [sent.references];
  expect(references).toContain(customerMessageId);
  expect(sent.text).toContain('Your parcel left our warehouse today.');
  expect(relay.received.filter((mail) => mail.inReplyTo === customerMessageId)).toHaveLength(1);

  // The sent reply is in the customer's incident tree, in the operator's app.
  const token = /\[#(INC-\d+)-[0-9A-Z]+\]/.exec(sent.subject ?? '')![1]!;
  await operator.getByTestId('area-customers').click();
  const searchBox = operator.getByRole('combobox', { name: 'Search customers' });
  await searchBox.fill(customerAddress);
  const result = operator.getByTestId('search-result').filter({ hasText: 'Kenji Tanaka' });
  await expect(result).toBeVisible({ timeout: 30_000 });
  await result.click();
  const tree = operator.getByTestId('customer-panel').getByTestId('incident-tree');
  await expect(tree.getByTestId('incident')).toHaveCount(1);
  const outbound = tree.getByTestId('contact').filter({ hasText: 'Outbound' }).filter({ hasText: 'E-mail' });
  await expect(outbound).toHaveCount(1, { timeout: 30_000 });
  await expect(tree.getByTestId('contact').filter({ hasText: 'Inbound' })).toHaveCount(1);
  const stored = stack.query<{ state: string; subject: string }>('select state, subject from mail_replies where subject like ?', `%${token}%`);
  expect(stored).toEqual([{ state: 'sent', subject: sent.subject }]);

  // The live view counted it, pushed from the backend.
  await supervisor.getByTestId('area-live').click();
  const live = supervisor.getByTestId('live-view');
  await expect(live.getByTestId('agent-row').filter({ hasText: 'オペレーター 一号' })).toHaveAttribute('data-status', 'available');
  await expect(live.getByTestId('volume-table').locator('tbody tr')).toHaveCount(24);
  await expect(live.getByTestId('mails-pending-review')).toHaveAttribute('data-value', '0');
  await expectNoSeriousA11yViolations(supervisor, 'live view');
  await supervisor.screenshot({ path: testInfo.outputPath('live-view.png'), fullPage: true });
  expect(operatorMisbehaviour).toEqual([]);
});

test("an admin edits a reply template in the console; the operator's next reply uses the new text", async ({ browser }) => {
  const stamp = Date.now();
  const sentence = `Our opening hours changed on ${stamp}.`;
  const messageId = `<hours-${stamp}@example.net>`;
  const subject = `Opening hours ${stamp}`;

  // The admin, in a window of their own, rewrites the English reply template; the preview fills
  // the placeholders with sample values before it is saved.
  const { context: adminContext, page: admin } = await openContext(browser);
  try {
    await signIn(admin, await stack.startShell('admin'), 'admin', 'admin-pass');
    await admin.getByTestId('area-admin').click();
    await admin.getByTestId('admin-tab-templates').click();
    await admin.getByRole('button', { name: 'Edit template Reply (English)' }).click();
    const form = admin.getByTestId('admin-mail-template-form');
    // The only text area of the form (its label's accessible name also carries the text).
    await form.locator('textarea').fill(`Hello {{customerName}},\n\n${sentence}\n\n{{operatorName}}`);
    await expect(form.getByTestId('template-preview')).toContainText('Hello 山田 太郎,');
    await form.getByRole('button', { name: 'Save template' }).click();
    await expect(form).toHaveCount(0);
  } finally {
    await adminContext.close();
  }
  const audited = stack.query<{ details: string }>(`select details from audit_events where action = 'mail_template_changed'`);
  expect(audited.some((row) => row.details.includes('Reply (English)') && row.details.includes('updated'))).toBe(true);

  // The operator's next mail: the template brings the admin's text, filled for this customer.
  await operator.getByTestId('area-mail').click();
  await expect(operator.getByTestId('mail-desk')).toHaveAttribute('data-phase', 'none');
  await sendMail({ from: `Emi Sato <emi.sato.${stamp}@example.net>`, subject, text: 'When are you open?', messageId });
  const offered = operator.getByTestId('offered-mail');
  await expect(offered.getByTestId('mail-subject')).toHaveText(subject, { timeout: 30_000 });
  await offered.getByLabel('Template').selectOption({ label: 'Reply (English)' });
  await expect(offered.getByLabel('Reply text')).toHaveValue(`Hello Emi Sato,\n\n${sentence}\n\nオペレーター 一号`);
  await offered.getByRole('button', { name: 'Submit for review' }).click();
  await expect(operator.getByTestId('desk-outcome')).toHaveText(`Submitted for review: ${subject}`);

  // Approved and sent: the customer receives the new text.
  await supervisor.getByTestId('area-review').click();
  const detail = supervisor.getByTestId('review-detail');
  await expect(detail.getByTestId('review-subject')).toContainText(subject, { timeout: 30_000 });
  await detail.getByRole('button', { name: 'Approve and send' }).click();
  await expect(supervisor.getByTestId('review-done')).toContainText('Approved');
  const sent = await relay.next((mail) => mail.inReplyTo === messageId);
  expect(sent.text).toContain(`Hello Emi Sato,\n\n${sentence}`);
  expect(operatorMisbehaviour).toEqual([]);
});

test('a reply returned with a comment shows the comment to the operator', async () => {
  const stamp = Date.now();
  const subject = `Change my address ${stamp}`;
  await operator.getByTestId('area-mail').click();
  await sendMail({ from: `Hanako Ito <hanako.ito.${stamp}@example.net>`, subject, text: 'I moved to Osaka.', messageId: `<move-${stamp}@example.net>` });
  const offered = operator.getByTestId('offered-mail');
  await expect(offered.getByTestId('mail-subject')).toHaveText(subject, { timeout: 30_000 });
  await offered.getByLabel('Reply text').fill('Noted, thank you.');
  await offered.getByRole('button', { name: 'Submit for review' }).click();
  await expect(operator.getByTestId('desk-outcome')).toHaveText(`Submitted for review: ${subject}`);

  // The supervisor returns it from the keyboard: r opens the comment.
  await supervisor.getByTestId('area-review').click();
  const detail = supervisor.getByTestId('review-detail');
  await expect(detail.getByTestId('review-subject')).toContainText(subject);
  await supervisor.locator('body').press('r');
  const comment = detail.getByLabel('Comment for the author');
  await expect(comment).toBeFocused();
  await comment.fill('Please confirm the new postal code with the customer.');
  await detail.getByRole('button', { name: 'Return to the author' }).click();
  await expect(supervisor.getByTestId('review-done')).toContainText('Returned to the author');

  await operator.getByTestId('area-returned').click();
  const returned = operator.getByTestId('returned-reply').filter({ hasText: subject });
  await expect(returned.getByTestId('review-comment')).toHaveText('Please confirm the new postal code with the customer.');
  await expect(returned).toContainText('スーパーバイザー 一号');
  expect(operatorMisbehaviour).toEqual([]);
});

test('a reply to a Reply-To warns author and reviewer; a stranger quoting a reference waits for matching', async () => {
  const stamp = Date.now();
  const subject = `Statement request ${stamp}`;
  const customerAddress = `yuki.mori.${stamp}@example.net`;
  const replyTo = `collector.${stamp}@elsewhere.example`;
  const messageId = `<statement-${stamp}@example.net>`;
  await operator.getByTestId('area-mail').click();
  await expect(operator.getByTestId('mail-desk')).toHaveAttribute('data-phase', 'none');
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ to: SUPPORT_ADDRESS, from: `Yuki Mori <${customerAddress}>`, replyTo, subject, text: 'Please send my statement.', messageId });
  } finally {
    transport.close();
  }

  // The operator sees the Reply-To, and the composer shows where the reply goes: the customer's address.
  const offered = operator.getByTestId('offered-mail');
  await expect(offered.getByTestId('mail-subject')).toHaveText(subject, { timeout: 30_000 });
  await expect(offered.getByTestId('mail-reply-to')).toContainText(replyTo);
  await expect(offered.getByTestId('composer-to')).toHaveValue(customerAddress);
  await expect(offered.getByTestId('composer-recipient-warning')).toHaveCount(0);
  await offered.getByTestId('composer-to').selectOption(replyTo);
  await expect(offered.getByTestId('composer-recipient-warning')).toContainText(`${replyTo} is not one of Yuki Mori's known addresses`);
  await offered.getByLabel('Reply text').fill('Your statement is attached.');
  await offered.getByRole('button', { name: 'Submit for review' }).click();
  await expect(operator.getByTestId('desk-outcome')).toHaveText(`Submitted for review: ${subject}`);

  // The reviewer is warned too, and sends it back.
  await supervisor.getByTestId('area-review').click();
  const detail = supervisor.getByTestId('review-detail');
  await expect(detail.getByTestId('review-subject')).toContainText(subject, { timeout: 30_000 });
  await expect(detail.getByTestId('review-to')).toHaveText(replyTo);
  await expect(detail.getByTestId('review-recipient-warning')).toContainText(`${replyTo} is not one of Yuki Mori's known addresses`);
  await expectNoSeriousA11yViolations(supervisor, 'review queue with a recipient warning');
  await detail.getByRole('button', { name: 'Return with comment' }).click();
  await detail.getByLabel('Comment for the author').fill('Send it to the customer\'s own address.');
  await detail.getByRole('button', { name: 'Return to the author' }).click();
  await expect(supervisor.getByTestId('review-done')).toContainText('Returned to the author');

  // A stranger quotes that incident's bare number with a Reply-To of their own: it waits in the
  // desk's "needs matching", not in the incident, and is filed there only through a warning.
  const refNo = stack.query<{ ref_no: number }>(
    'select i.ref_no from mail_messages m join incidents i on i.id = m.incident_id where m.message_id = ?',
    messageId.slice(1, -1),
  )[0]?.ref_no;
  expect(refNo).toBeDefined();
  const strangerSubject = `Re: ${subject} [#INC-${refNo}]`;
  await operator.getByTestId('area-mail').click();
  await sendMail({ from: `stranger.${stamp}@evil.example`, subject: strangerSubject, text: 'Send the statement to me instead.', messageId: `<stranger-${stamp}@evil.example>` });
  const waiting = operator.getByTestId('needs-matching-item').filter({ hasText: strangerSubject });
  await expect(waiting.getByTestId('mail-match-problem')).toContainText(`It refers to INC-${refNo} (Yuki Mori).`, { timeout: 30_000 });
  await expect(operator.getByTestId('offered-mail')).toHaveCount(0);
  await expectNoSeriousA11yViolations(operator, 'mail desk with a mail that needs matching');
  await waiting.getByTestId('match-claimed').click();
  await expect(waiting.getByTestId('match-confirm')).toContainText(`stranger.${stamp}@evil.example`);
  await waiting.getByTestId('match-claimed-confirm').click();
  await expect(operator.getByTestId('needs-matching')).toHaveCount(0);

  // Now offered, filed under the incident, with the mismatch in the header pane.
  const filed = operator.getByTestId('offered-mail');
  await expect(filed.getByTestId('mail-subject')).toHaveText(strangerSubject, { timeout: 30_000 });
  await expect(filed.getByTestId('mail-mismatch')).toContainText(`The sender stranger.${stamp}@evil.example is not one of Yuki Mori's known addresses.`);
  await expect(filed.getByTestId('composer-to')).toHaveValue(customerAddress);
  await filed.getByTestId('open-customer').click();
  await expect(filed.getByTestId('open-customer-confirm')).toBeVisible();
  await filed.getByRole('button', { name: 'Close without reply…' }).click();
  await filed.getByLabel('Why no reply is needed').fill('Not the customer.');
  await filed.getByRole('button', { name: 'Close the mail' }).click();
  await expect(operator.getByTestId('mail-desk')).toHaveAttribute('data-phase', 'none');
  expect(operatorMisbehaviour).toEqual([]);
});

test('a hostile HTML mail runs no script, loads no tracker until asked, and never navigates the app', async () => {
  const testInfo = test.info();
  const stamp = Date.now();
  const subject = `Invoice overdue ${stamp}`;
  const trackerBase = `http://127.0.0.1:${tracker.port}`;
  const html = [
    '<html><head><meta http-equiv="refresh" content="0;url=' + trackerBase + '/refresh"><base href="' + trackerBase + '/base/"></head><body>',
    '<p>Dear customer, your invoice is overdue.</p>',
    '<script>window.top.document.title = "pwned"; alert("script ran")</script>',
    `<img src="${trackerBase}/pixel.gif?id=${stamp}" width="1" height="1" alt="">`,
    '<img src="x" onerror="alert(\'onerror ran\')">',
    '<p><a id="js-link" href="javascript:alert(\'javascript link ran\')">Open your invoice</a></p>',
    `<p><a id="web-link" href="${trackerBase}/landing?from=mail">Pay now</a></p>`,
    `<form action="${trackerBase}/steal" method="post"><input name="password"><button>Log in</button></form>`,
    `<iframe src="${trackerBase}/frame"></iframe>`,
    `<div style="background: url(${trackerBase}/background.png); width: expression(alert('css ran'))">styled</div>`,
    '</body></html>',
  ].join('\n');

  await operator.getByTestId('area-mail').click();
  await expect(operator.getByTestId('mail-desk')).toHaveAttribute('data-phase', 'none');
  await sendMail({ from: `Billing <billing.${stamp}@example.net>`, subject, text: 'Your invoice is overdue.', html, messageId: `<hostile-${stamp}@example.net>` });
  const offered = operator.getByTestId('offered-mail');
  await expect(offered.getByTestId('mail-subject')).toHaveText(subject, { timeout: 30_000 });

  const frame = offered.getByTestId('mail-frame');
  await expect(frame).toHaveAttribute('sandbox', '');
  const content = operator.frameLocator('[data-testid="mail-frame"]');
  await expect(content.getByText('Dear customer, your invoice is overdue.')).toBeVisible();
  await expect(offered.getByTestId('remote-images-blocked')).toBeVisible();
  await expectNoSeriousA11yViolations(operator, 'hostile mail');

  // Clicking the links inside the frame does nothing: they have no target to go to.
  await content.getByText('Open your invoice').click();
  await content.getByText('Pay now').click();
  await expect(operator.getByTestId('link-confirm')).toHaveCount(0);

  // The http link is listed outside the frame and opens only after confirming the full URL,
  // in a new browsing context: the app window stays where it is.
  const links = offered.getByTestId('mail-link');
  await expect(links).toHaveCount(1);
  await links.first().click();
  const confirm = operator.getByRole('dialog', { name: 'Open this link in your browser?' });
  await expect(confirm.getByTestId('link-confirm-url')).toHaveText(`${trackerBase}/landing?from=mail`);
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toHaveCount(0);
  expect(tracker.hits).toEqual([]);
  await links.first().click();
  const popupOpened = operatorContext.waitForEvent('page');
  await operator.getByRole('dialog').getByRole('button', { name: 'Open' }).click();
  const popup = await popupOpened;
  await popup.waitForLoadState();
  expect(popup.url()).toBe(`${trackerBase}/landing?from=mail`);
  expect(await popup.evaluate(() => window.opener)).toBeNull();
  await popup.close();
  expect(tracker.hits).toEqual(['/landing?from=mail']);

  // Nothing ran, nothing was fetched, the app is where it was.
  await expect(operator).toHaveTitle(APP_TITLE);
  expect(operatorMisbehaviour).toEqual([]);
  await operator.screenshot({ path: testInfo.outputPath('hostile-mail.png'), fullPage: true });

  // Remote images load only after the click.
  await offered.getByRole('button', { name: 'Show images' }).click();
  await expect(frame).toHaveAttribute('data-remote-images', 'true');
  await tracker.hit('/pixel.gif');
  // The core fetched it: the frame shows it as a data: URL (the page's CSP admits no http(s) image).
  await expect(content.locator('img[src^="data:image/gif;base64,"]')).toHaveCount(1);
  await expect(content.locator(`img[src*="${trackerBase}"]`)).toHaveCount(0);
  expect(tracker.hits.filter((url) => !url.startsWith('/landing') && !url.startsWith('/pixel.gif'))).toEqual([]);
  await expect(operator).toHaveTitle(APP_TITLE);
  expect(operatorMisbehaviour).toEqual([]);
});
