import { expect, test } from '@playwright/test';
import { issueSipCredentials } from '../pbx/credentials.js';
import { DEV_QUEUE_NUMBERS, devQueues } from '../pbx/dev-queues.js';
import { RawSipClient, webRtcLikeSdp } from '../pbx/test-support/raw-sip-client.js';
import { headerValue, type SipMessage } from '../pbx/sip-message.js';
import { startTestPbx, type TestPbx } from '../pbx/test-support/test-pbx.js';
import { UdpTrunkCaller } from '../pbx/test-support/udp-caller.js';
import { localDate } from '../shared/reports.js';
import { tenantSipUser } from '../shared/sip-identity.js';
import { stopAll } from './support/processes.js';
import { freePort, newCtiToken, removeStackDir, startStack, type Stack } from './support/stack.js';

/**
 * Issue 9 items 1-3 end to end: Kamailio asks the real backend whom a call to the demo queue
 * number rings, rings them one after the other, falls back when the backend is gone, and holds
 * callers on the media UA's "please hold" while every operator is busy. The operators' phones
 * are raw SIP clients registered over WebSocket; their status is set through the backend's API
 * as the app sets it. At the end a supervisor's daily report, in the app, counts those calls per
 * operator.
 */

test.describe.configure({ mode: 'serial' });

const QUEUE = DEV_QUEUE_NUMBERS.demo!;
const RING_SECONDS = 5;
const TIME_ZONE = 'Asia/Tokyo';

let pbx: TestPbx;
let stack: Stack;
const phones: RawSipClient[] = [];
const callers: UdpTrunkCaller[] = [];

interface Operator {
  login: string;
  phone: RawSipClient;
  setStatus(status: 'available' | 'on_call' | 'after_call_work' | 'break' | 'offline'): Promise<void>;
}

async function logIn(login: string, password: string): Promise<string> {
  const response = await fetch(`${stack.backendUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'demo', login, password }),
  });
  expect(response.status, `login ${login}`).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

async function operator(login: string, password: string): Promise<Operator> {
  const token = await logIn(login, password);
  const sipUser = tenantSipUser(login, 'demo')!;
  const phone = await RawSipClient.connect(pbx.wsUrl, { user: sipUser });
  phones.push(phone);
  const credentials = issueSipCredentials({ secret: pbx.secret, user: sipUser, ttlSeconds: 600, now: new Date() });
  expect((await phone.register({ credentials })).status).toBe(200);
  return {
    login,
    phone,
    async setStatus(status) {
      const put = await fetch(`${stack.backendUrl}/api/agents/me/status`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ status }),
      });
      expect(put.status, `${login} → ${status}`).toBe(200);
    },
  };
}

async function call(from: string): Promise<UdpTrunkCaller> {
  const caller = await UdpTrunkCaller.open(pbx.udpPort, from);
  callers.push(caller);
  caller.invite(QUEUE);
  return caller;
}

function answer(phone: RawSipClient, invite: SipMessage): void {
  phone.reply(invite, 180, 'Ringing');
  phone.reply(invite, 200, 'OK', { sdp: webRtcLikeSdp('answer') });
}

async function talkAndHangUp(caller: UdpTrunkCaller, phone: RawSipClient): Promise<void> {
  expect((await caller.finalResponse()).status).toBe(200);
  await phone.waitForRequest('ACK');
  caller.hangUp();
  await phone.waitForRequest('BYE');
}

let agent1: Operator;
let agent2: Operator;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  const backendPort = await freePort();
  const token = newCtiToken();
  pbx = await startTestPbx({
    cti: { backendUrl: `http://127.0.0.1:${backendPort}`, token, tenants: ['demo', 'other'], queues: devQueues(RING_SECONDS) },
  });
  stack = await startStack({
    customers: 40,
    sip: { secret: pbx.secret, wsUrl: pbx.wsUrl },
    backendPort,
    ctiToken: token,
    extraBackendEnv: { TSUNAGU_TIME_ZONE: TIME_ZONE },
  });
  // The tenant's ring time is what the backend tells the PBX for each target.
  const admin = await logIn('admin', 'admin-pass');
  const settings = await fetch(`${stack.backendUrl}/api/telephony/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({ ringSeconds: RING_SECONDS }),
  });
  expect(settings.status).toBe(200);
  agent1 = await operator('agent1', 'agent1-pass');
  agent2 = await operator('agent2', 'agent2-pass');
});

test.afterEach(async () => {
  for (const caller of callers.splice(0)) caller.close();
});

test.afterAll(async () => {
  await Promise.all(phones.splice(0).map((p) => p.close()));
  await stopAll();
  await pbx?.stop();
  removeStackDir(stack);
});

test('a call to the queue number rings the previous handler first, then the next target when they do not answer', async () => {
  test.setTimeout(90_000);
  // A customer both operators may see (agent2's customer limit is 3).
  const [customer] = stack.query<{ id: string; e164: string }>(
    `select c.id, p.e164 from customers c
       join tenants t on t.id = c.tenant_id and t.slug = 'demo'
       join customer_phones p on p.customer_id = c.id
      where c.classification = 3 and c.branch is null
      order by c.id limit 1`,
  );
  expect(customer, 'a seeded customer with a phone number').toBeDefined();

  // First call: only agent2 is available, so agent2 takes it and becomes the previous handler.
  await agent1.setStatus('offline');
  await agent2.setStatus('available');
  const first = await call(customer!.e164);
  const firstInvite = await agent2.phone.waitForRequest('INVITE');
  expect(headerValue(firstInvite, 'X-Customer-Id')).toBe(customer!.id);
  answer(agent2.phone, firstInvite);
  await talkAndHangUp(first, agent2.phone);
  await expect
    .poll(() => stack.query(`select 1 from contacts where customer_id = ? and kind = 'call' and agent_id = (select id from users where login = 'agent2' and tenant_id = (select tenant_id from customers where id = ?))`, customer!.id, customer!.id).length, {
      message: 'the call logged with agent2 as its handler',
    })
    .toBeGreaterThan(0);

  // agent1 has now waited longest, yet the previous handler rings first.
  await agent1.setStatus('available');
  await agent2.setStatus('after_call_work');
  await agent2.setStatus('available');
  const second = await call(customer!.e164);
  const toPrevious = await agent2.phone.waitForRequest('INVITE');
  expect(headerValue(toPrevious, 'Call-ID')).toBe(second.callId);
  agent2.phone.reply(toPrevious, 180, 'Ringing');
  // agent2 lets it ring: after the ring time the PBX gives up on them and rings agent1.
  await agent2.phone.waitForRequest('CANCEL', (RING_SECONDS + 5) * 1000);
  agent2.phone.reply(toPrevious, 487, 'Request Terminated');
  const toNext = await agent1.phone.waitForRequest('INVITE', 10_000);
  expect(headerValue(toNext, 'Call-ID')).toBe(second.callId);
  answer(agent1.phone, toNext);
  await talkAndHangUp(second, agent1.phone);

  const routed = stack.query<{ details: string }>(`select details from audit_events where action = 'call_routed' order by rowid`);
  expect(routed.some((row) => row.details.includes(second.callId))).toBe(true);
});

test('with the backend stopped the call still reaches the fallback group', async () => {
  await stack.stopBackend();
  try {
    const caller = await call('0311112222');
    // The demo queue's fallback group starts with agent1 (pbx/dev-queues.ts).
    const invite = await agent1.phone.waitForRequest('INVITE');
    expect(headerValue(invite, 'Call-ID')).toBe(caller.callId);
    answer(agent1.phone, invite);
    await talkAndHangUp(caller, agent1.phone);
  } finally {
    await stack.startBackend();
  }
});

test('with every operator busy two callers wait on hold and are delivered in order as operators become available', async () => {
  test.setTimeout(90_000);
  await agent1.setStatus('break');
  await agent2.setStatus('break');
  const firstCaller = await call('0322223333');
  await firstCaller.waitForResponse((r) => r.status === 183);
  const secondCaller = await call('0344445555');
  await secondCaller.waitForResponse((r) => r.status === 183);

  await agent1.setStatus('available');
  const toAgent1 = await agent1.phone.waitForRequest('INVITE', 15_000);
  // As the app does when its phone rings, so the next caller is not offered to agent1 too.
  await agent1.setStatus('on_call');
  expect(headerValue(toAgent1, 'Call-ID')).toBe(firstCaller.callId);
  answer(agent1.phone, toAgent1);
  expect((await firstCaller.finalResponse()).status).toBe(200);
  expect(secondCaller.responses.some((r) => r.status >= 200)).toBe(false);

  await agent2.setStatus('available');
  const toAgent2 = await agent2.phone.waitForRequest('INVITE', 15_000);
  expect(headerValue(toAgent2, 'Call-ID')).toBe(secondCaller.callId);
  answer(agent2.phone, toAgent2);
  expect((await secondCaller.finalResponse()).status).toBe(200);

  await agent1.phone.waitForRequest('ACK');
  firstCaller.hangUp();
  await agent1.phone.waitForRequest('BYE');
  await agent2.phone.waitForRequest('ACK');
  secondCaller.hangUp();
  await agent2.phone.waitForRequest('BYE');
});

test("the supervisor's daily report counts the day's calls per operator", async ({ browser }) => {
  test.setTimeout(120_000);
  const today = localDate(new Date(), TIME_ZONE);
  const userId = (login: string) =>
    stack.query<{ id: string }>(`select u.id from users u join tenants t on t.id = u.tenant_id and t.slug = 'demo' where u.login = ?`, login)[0]!.id;
  // Every leg of this file's calls has its final report from the PBX before the report is read.
  await expect
    .poll(() => stack.query(`select 1 from calls where status <> 'ended' and agent_id in (?, ?)`, userId('agent1'), userId('agent2')).length, {
      message: 'calls still open',
      timeout: 30_000,
    })
    .toBe(0);

  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1000 } });
  try {
    const page = await context.newPage();
    await page.goto(await stack.startShell('supervisor'));
    await page.getByLabel('Tenant').fill('demo');
    await page.getByLabel('Login ID').fill('super1');
    await page.getByLabel('Password').fill('super1-pass');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('area-reports').click();
    await page.getByTestId('report-period').selectOption('day');
    await page.getByTestId('report-group').selectOption('operator');
    await page.getByTestId('report-from').fill(today);
    await page.getByTestId('report-to').fill(today);
    await page.getByTestId('report-show').click();

    const row = (login: string) => page.locator(`[data-testid="report-row"][data-bucket="${today}"][data-group="${userId(login)}"]`);
    // agent2 answered the first call and the second waiting caller, and let the second call ring out.
    await expect(row('agent2').locator('[data-column="answered"]')).toHaveText('2');
    await expect(row('agent2').locator('[data-column="missed"]')).toHaveText('1');
    // agent1 answered the second call, the call the fallback group took while the backend was
    // down (reported once it was back), and the first waiting caller.
    await expect(row('agent1').locator('[data-column="answered"]')).toHaveText('3');
    await expect(row('agent1').locator('[data-column="missed"]')).toHaveText('0');
    for (const login of ['agent1', 'agent2']) {
      await expect(row(login).locator('[data-column="handle"]')).toHaveText(/^\d+:\d\d$/);
      await expect(row(login)).toContainText(login === 'agent1' ? 'オペレーター 一号' : 'オペレーター 二号');
    }
  } finally {
    await context.close();
  }
});
