import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { launchWithMicrophone, makeToneWav, openAgentApp } from './support/phone.js';
import { stopAll } from './support/processes.js';
import { removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * Issue 8 items 1–3 as the operator saw them: a status picked while the backend is down
 * reaches the server when it is back (with the offline banner meanwhile and the "back online"
 * line after), and one browser-shell host serves a second window to a second user.
 */

test.use({ locale: 'en-US' });
test.describe.configure({ mode: 'serial' });

const DOMAIN = '127.0.0.1';

let pbx: TestPbx;
let stack: Stack;
let workDir: string;
let agentBrowser: Browser;
let agentContext: BrowserContext;
let agent: Page;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-desk-'));
  const wav = await makeToneWav(path.join(workDir, 'agent-440hz.wav'), 440);
  pbx = await startTestPbx();
  stack = await startStack({ customers: 40, sip: { secret: pbx.secret, wsUrl: pbx.wsUrl, domain: DOMAIN } });
  agentBrowser = await launchWithMicrophone(wav);
  ({ context: agentContext, page: agent } = await openAgentApp(agentBrowser, stack.shellUrl, 'agent1', 'agent1-pass'));
});

test.afterAll(async () => {
  await agentBrowser?.close();
  await stopAll();
  await pbx?.stop();
  removeStackDir(stack);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

function serverStatusOf(login: string): string | undefined {
  return stack.query<{ status: string }>(
    `select p.status from agent_presence p
       join users u on u.id = p.user_id
       join tenants t on t.id = u.tenant_id and t.slug = 'demo'
      where u.login = ?`,
    login,
  )[0]?.status;
}

test('a status picked while the backend is down reaches the server when it is back', async () => {
  await expect.poll(() => serverStatusOf('agent1'), { message: 'agent1 starts available on the server' }).toBe('available');
  await expect(agent.getByTestId('offline-banner')).toHaveCount(0);

  await stack.stopBackend();
  // Loss is detected within 5 s by the event stream's heartbeat; the banner says what still works.
  const banner = agent.getByTestId('offline-banner');
  await expect(banner).toBeVisible({ timeout: 15_000 });
  await expect(banner).toContainText('search, customer records, notes and mail drafts');
  // The phone talks to the PBX, not the backend: it stays registered, and the banner says so.
  await expect(agent.getByTestId('offline-banner-phone')).toHaveAttribute('data-registration', 'registered');

  await agent.getByTestId('agent-status').selectOption('break');
  await expect(agent.getByTestId('agent-status-unconfirmed')).toBeVisible();
  expect(serverStatusOf('agent1')).toBe('available');

  // A note written offline waits in the outbox; the "back online" line counts it too.
  const [customer] = stack.query<{ code: string }>(
    `select c.code from customers c
       join tenants t on t.id = c.tenant_id and t.slug = 'demo'
      where c.classification = 3 and exists (select 1 from incidents i where i.customer_id = c.id)
      order by c.code limit 1`,
  );
  await agent.getByRole('combobox', { name: 'Search customers' }).fill(customer!.code);
  await agent.getByTestId('search-result').filter({ hasText: customer!.code }).click();
  await expect(agent.getByTestId('customer-code')).toHaveText(customer!.code);
  await agent.getByTestId('incident-tree').getByTestId('incident').first().click();
  const noteText = `Written while offline ${Date.now()}`;
  await agent.getByLabel('Note', { exact: true }).fill(noteText);
  await agent.getByRole('button', { name: 'Save note' }).click();
  await expect(agent.getByTestId('pending-count')).toHaveAttribute('data-count', '1');

  await stack.startBackend();
  await expect(agent.getByTestId('back-online')).toContainText('Back online: 1 note and 1 status change sent.', { timeout: 30_000 });
  await expect(banner).toHaveCount(0);
  await expect(agent.getByTestId('agent-status-unconfirmed')).toHaveCount(0);
  await expect(agent.getByTestId('agent-status')).toHaveValue('break');
  await expect.poll(() => serverStatusOf('agent1'), { message: 'the server has the break' }).toBe('break');
  expect(stack.query<{ n: number }>('select count(*) as n from contacts where body = ?', noteText)[0]!.n).toBe(1);
});

test('one host serves a second window to a second user, each with their own session', async () => {
  const [agentName, superName] = ['agent1', 'super1'].map(
    (login) => stack.query<{ display_name: string }>(
      `select u.display_name from users u join tenants t on t.id = u.tenant_id and t.slug = 'demo' where u.login = ?`,
      login,
    )[0]!.display_name,
  );
  await expect(agent.getByTestId('user-name')).toContainText(agentName!);

  const opened = agentContext.waitForEvent('page');
  await agent.getByTestId('new-window').click();
  const second = await opened;
  // Not signed in as agent1: the new window has its own core and asks who is there.
  await expect(second.getByLabel('Login ID')).toBeVisible();
  await second.getByLabel('Tenant').fill('demo');
  await second.getByLabel('Login ID').fill('super1');
  await second.getByLabel('Password').fill('super1-pass');
  await second.getByRole('button', { name: 'Sign in' }).click();
  await expect(second.getByTestId('user-name')).toContainText(superName!);
  await expect(second.getByTestId('sync-status')).toHaveAttribute('data-phase', 'idle', { timeout: 60_000 });
  await expect(second.getByTestId('registration-status')).toHaveAttribute('data-state', 'registered', { timeout: 30_000 });

  // The first window is still agent1's, and each phone registered for its own user.
  await expect(agent.getByTestId('user-name')).toContainText(agentName!);
  await expect(agent.getByTestId('user-name')).not.toContainText(superName!);
  await expect(agent.getByTestId('registration-status')).toHaveAttribute('data-state', 'registered');
  // Each window's status goes to its own user on the server.
  await second.getByTestId('agent-status').selectOption('break');
  await expect.poll(() => serverStatusOf('super1')).toBe('break');
  await agent.getByTestId('agent-status').selectOption('available');
  await expect.poll(() => serverStatusOf('agent1')).toBe('available');
  expect(serverStatusOf('super1')).toBe('break');

  // A reload of the second window keeps super1 there (its own session), not agent1.
  await second.reload();
  await expect(second.getByTestId('user-name')).toContainText(superName!);
});
