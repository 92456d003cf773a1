import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, PushResponse } from '../../../shared/api.js';
import { CALLS_FOR_YOU_API, CALLS_FOR_YOU_INCIDENT_TITLE, CallsForYouResponse, type CallHandlingAction } from '../../../shared/calls-for-you.js';
import type { User } from '../../../shared/domain.js';
import { createCustomerRecord, createUser, type FixtureCustomer, type UserSpec } from '../testing/fixtures.js';
import { DIALECTS } from '../testing/harness.js';
import { TELEPHONY_API } from '../telephony/routes.js';
import { errorMessage, startTelephonyBackend, type TelephonyBackend } from '../telephony/test-support.js';
import { branchCallsDb } from './schema.js';

describe.each(DIALECTS)('calls for you on %s', (dialect) => {
  let t: TelephonyBackend;
  type Who = 'repA' | 'repB' | 'repC' | 'wide' | 'unreg' | 'admin' | 'handler';
  const users = {} as Record<Who, { user: User; token: string }>;
  let shibuya: FixtureCustomer;
  let secret: FixtureCustomer;
  let ikebukuro: FixtureCustomer;
  let seminarId: string;

  const addUser = async (who: Who, spec: Omit<UserSpec, 'password'>) => {
    const user = await createUser(t.backend.handle, t.backend.demo.tenant.id, { ...spec, password: t.backend.demo.password }, t.backend.config.argon2);
    users[who] = { user, token: await t.backend.login(spec.login) };
  };

  /** A call as the PBX reports it: `missed`, or `answered` then `ended`. */
  const pbxCall = async (callId: string, caller: string, agent: string, answered = false) => {
    for (const event of answered ? ['answered', 'ended'] : ['missed']) {
      const response = await t.call('POST', TELEPHONY_API.ctiEvents, {
        cti: t.ctiToken,
        body: { tenant: 'demo', callId, event, caller, called: agent, agent },
      });
      expect(response.statusCode, response.body).toBe(200);
    }
  };

  const list = async (who: Who, scope: string) => {
    const response = await t.call('GET', `${CALLS_FOR_YOU_API.list}?scope=${scope}`, { token: users[who].token });
    return response;
  };
  const keys = async (who: Who, scope: string) => {
    const response = await list(who, scope);
    expect(response.statusCode, response.body).toBe(200);
    return CallsForYouResponse.parse(response.json()).entries.map((entry) => entry.key).sort();
  };

  const handle = async (who: Who, callKey: string, customerId: string, action: CallHandlingAction, clientId = randomUUID()) => {
    const response = await t.call('POST', API.syncPush, {
      token: users[who].token,
      body: { entries: [{ type: 'handle_call', clientId, callKey, customerId, incidentId: null, action, createdAt: new Date().toISOString() }] },
    });
    expect(response.statusCode, response.body).toBe(200);
    return PushResponse.parse(response.json()).results[0]!;
  };

  beforeAll(async () => {
    t = await startTelephonyBackend(dialect);
    await addUser('repA', { login: 'rep-a', branch: '渋谷支店', customerLimitAuthority: 2, sipUser: '3001' });
    await addUser('repB', { login: 'rep-b', branch: '渋谷支店', customerLimitAuthority: 2, sipUser: '3002' });
    await addUser('repC', { login: 'rep-c', branch: '池袋支店', customerLimitAuthority: 3, sipUser: '3003' });
    await addUser('wide', { login: 'wide', branch: '渋谷支店', customerLimitAuthority: 2, sipUser: '3004' });
    await addUser('unreg', { login: 'unreg', branch: '渋谷支店', customerLimitAuthority: 2, mayHandleUnregisteredCallers: true, sipUser: '3005' });
    await addUser('handler', { login: 'handler', customerLimitAuthority: 1, sipUser: '3100' });
    users.admin = { user: t.backend.demo.users.admin, token: await t.backend.login('admin') };
    const { handle: db } = t.backend;
    const tenantId = t.backend.demo.tenant.id;
    shibuya = await createCustomerRecord(db, tenantId, {
      code: 'FY-1', name: '渋谷 一郎', branch: '渋谷支店', classification: 2, assignedRepId: users.repA.user.id,
      phones: [{ e164: '+81311110001', kind: 'landline' }], emails: ['ichiro@example.jp'],
    });
    secret = await createCustomerRecord(db, tenantId, {
      code: 'FY-2', name: '機密 二郎', branch: '渋谷支店', classification: 1, assignedRepId: users.repA.user.id,
      phones: [{ e164: '+81311110002', kind: 'landline' }],
    });
    ikebukuro = await createCustomerRecord(db, tenantId, {
      code: 'FY-3', name: '池袋 三郎', branch: '池袋支店', classification: 3, assignedRepId: users.repC.user.id,
      phones: [{ e164: '+81311110003', kind: 'landline' }],
    });
    seminarId = randomUUID();
    await branchCallsDb(db.db)
      .insertInto('seminars')
      .values({ id: seminarId, tenant_id: tenantId, title: '資産運用セミナー', starts_at: '2099-01-10T05:00:00.000Z', place: '渋谷支店 3F', capacity: 3, seats_taken: 0, created_at: new Date().toISOString() })
      .execute();

    await pbxCall('call-1', '03-1111-0001', '3001');
    await pbxCall('call-2', '03-1111-0002', '3001');
    await pbxCall('call-3', '03-1111-0003', '3003');
    await pbxCall('call-4', '03-9999-0000', '3001');
    // The rep's customer called the contact center; someone there answered.
    await pbxCall('call-5', '03-1111-0001', '3100', true);
    await pbxCall('call-6', '+81311110001', '3001');
    // The admin grants: repB sees but does not respond; `wide` sees every branch.
    for (const [who, body] of [['repB', { callsViewOnly: true }], ['wide', { callsAllBranches: true }]] as const) {
      const response = await t.backend.send('PATCH', API.userRights.replace(':id', users[who].user.id), body, users.admin.token);
      expect(response.statusCode, response.body).toBe(200);
    }
  });
  afterAll(() => t?.dispose());

  it("lists the rep's calls and their customers' calls, never a customer above their authority", async () => {
    expect(await keys('repA', 'mine')).toEqual(['call-1', 'call-5', 'call-6']);
    const response = CallsForYouResponse.parse((await list('repA', 'mine')).json());
    const answered = response.entries.find((entry) => entry.key === 'call-5')!;
    expect(answered).toMatchObject({ outcome: 'answered', answeredBy: { id: users.handler.user.id }, receivedBy: [{ id: users.handler.user.id, branch: null }] });
    expect(answered.customer).toMatchObject({ id: shibuya.id, branch: '渋谷支店', assignedRep: { id: users.repA.user.id } });
    const missed = response.entries.find((entry) => entry.key === 'call-1')!;
    expect(missed).toMatchObject({ outcome: 'missed', answeredBy: null, receivedBy: [{ id: users.repA.user.id, branch: '渋谷支店' }], handled: null });
    expect(response.counts.unhandled).toBeGreaterThanOrEqual(3);
    expect(await keys('repC', 'mine')).toEqual(['call-3']);
    expect(await keys('repB', 'branch')).toEqual(['call-1', 'call-5', 'call-6']);
    expect(await keys('repC', 'branch')).toEqual(['call-3']);
  });

  it('lists every branch only with the right, and unregistered callers only for those who may handle them', async () => {
    const refused = await list('repA', 'all');
    expect(refused.statusCode).toBe(403);
    expect(errorMessage(refused)).toContain('scope');
    expect((await list('repA', 'unregistered')).statusCode).toBe(403);
    // Class 1 stays hidden even from every branch's list.
    expect(await keys('wide', 'all')).toEqual(['call-1', 'call-3', 'call-5', 'call-6']);
    expect(await keys('unreg', 'unregistered')).toEqual(['call-4']);
    expect(await keys('admin', 'all')).toEqual(['call-1', 'call-2', 'call-3', 'call-5', 'call-6']);
    expect((await list('repA', 'everything')).statusCode).toBe(400);
  });

  it('marks a call handled once, through the outbox, with a contact and an audit event', async () => {
    const clientId = randomUUID();
    const first = await handle('repA', 'call-1', shibuya.id, { kind: 'contact', summary: '折り返し済み', body: '明日再訪の約束' }, clientId);
    expect(first).toMatchObject({ status: 'applied' });
    // The same entry again (a retry after a lost answer) is a duplicate, not a second contact.
    expect(await handle('repA', 'call-1', shibuya.id, { kind: 'contact', summary: '折り返し済み', body: '' }, clientId)).toMatchObject({ status: 'duplicate', contactId: first.contactId });
    const again = await handle('repA', 'call-1', shibuya.id, { kind: 'contact', summary: 'もう一度', body: '' });
    expect(again.status).toBe('rejected');
    expect(again.error).toContain('already handled');

    const db = branchCallsDb(t.backend.handle.db);
    const contact = await db.selectFrom('contacts as c').innerJoin('incidents as i', 'i.id', 'c.incident_id').select(['c.kind', 'c.summary', 'i.title']).where('c.id', '=', first.contactId!).executeTakeFirstOrThrow();
    expect(contact).toEqual({ kind: 'note', summary: '折り返し済み', title: CALLS_FOR_YOU_INCIDENT_TITLE });
    const audits = await db.selectFrom('audit_events').select('details').where('action', '=', 'call_handled').where('user_id', '=', users.repA.user.id).execute();
    expect(audits.map((row) => JSON.parse(row.details).callKey)).toEqual(['call-1']);

    const entry = CallsForYouResponse.parse((await list('repB', 'branch')).json()).entries.find((e) => e.key === 'call-1')!;
    expect(entry.handled).toMatchObject({ kind: 'contact', by: { id: users.repA.user.id }, contactId: first.contactId });
  });

  it('refuses the view-only user, a customer outside the authority, and another customer than the call’s', async () => {
    const viewOnly = await handle('repB', 'call-6', shibuya.id, { kind: 'contact', summary: 'x', body: '' });
    expect(viewOnly.status).toBe('rejected');
    expect(viewOnly.error).toContain('forbidden');
    expect((await handle('repA', 'call-2', secret.id, { kind: 'contact', summary: 'x', body: '' })).error).toContain('customerId');
    expect((await handle('repA', 'call-6', ikebukuro.id, { kind: 'contact', summary: 'x', body: '' })).error).toContain("not this call's customer");
    expect((await handle('repA', 'no-such-call', shibuya.id, { kind: 'contact', summary: 'x', body: '' })).error).toContain('callKey');
    const still = CallsForYouResponse.parse((await list('repA', 'mine')).json()).entries.find((e) => e.key === 'call-6')!;
    expect(still.handled).toBeNull();
  });

  it('books seminar seats within capacity; a booking that does not fit leaves the call unhandled', async () => {
    expect(await handle('repA', 'call-5', shibuya.id, { kind: 'seminar', seminarId, seats: 2 })).toMatchObject({ status: 'applied' });
    const full = await handle('repA', 'call-6', shibuya.id, { kind: 'seminar', seminarId, seats: 2 });
    expect(full.status).toBe('rejected');
    expect(full.error).toContain('only 1 seats left');
    const seminars = await t.call('GET', CALLS_FOR_YOU_API.seminars, { token: users.repA.token });
    expect(seminars.json().seminars).toEqual([expect.objectContaining({ id: seminarId, seatsLeft: 1 })]);
    const visit = await handle('repA', 'call-6', shibuya.id, { kind: 'visit', date: '2099-02-01', time: '14:30', place: 'ご自宅', note: '資料持参' });
    expect(visit.status).toBe('applied');
    const kinds = await branchCallsDb(t.backend.handle.db).selectFrom('contacts').select(['kind', 'summary']).where('id', 'in', [visit.contactId!]).execute();
    expect(kinds).toEqual([{ kind: 'visit', summary: '訪問予定 2099-02-01 14:30 ご自宅' }]);
    const bad = await t.call('POST', API.syncPush, {
      token: users.repA.token,
      body: { entries: [{ type: 'handle_call', clientId: randomUUID(), callKey: 'call-6', customerId: shibuya.id, incidentId: null, action: { kind: 'visit', date: '2099-02-01', time: '25:00', place: 'x' }, createdAt: new Date().toISOString() }] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('time');
  });

  it('applies one of two handlings of one call racing in from two users', async () => {
    await pbxCall('call-race', '03-1111-0001', '3001');
    const results = await Promise.all([
      handle('repA', 'call-race', shibuya.id, { kind: 'contact', summary: 'A', body: '' }),
      handle('wide', 'call-race', shibuya.id, { kind: 'contact', summary: 'B', body: '' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['applied', 'rejected']);
    const contacts = await branchCallsDb(t.backend.handle.db)
      .selectFrom('contacts')
      .select('id')
      .where('customer_id', '=', shibuya.id)
      .where('summary', 'in', ['A', 'B'])
      .execute();
    expect(contacts).toHaveLength(1);
  });

  it('lets a user who may handle unregistered callers handle one with the customer made from it', async () => {
    const created = await createCustomerRecord(t.backend.handle, t.backend.demo.tenant.id, { code: 'FY-NEW', name: '新規 四郎', branch: '渋谷支店', classification: 3, phones: [{ e164: '+81399990000', kind: 'landline' }] });
    expect((await handle('repA', 'call-4', created.id, { kind: 'contact', summary: 'x', body: '' })).status).toBe('rejected');
    expect(await handle('unreg', 'call-4', created.id, { kind: 'contact', summary: '新規登録', body: '' })).toMatchObject({ status: 'applied' });
  });

  it('renders the callback text from the template, which only admins edit', async () => {
    const template = await t.call('GET', CALLS_FOR_YOU_API.template, { token: users.repA.token });
    expect(template.json()).toMatchObject({ updatedAt: null, placeholders: expect.arrayContaining(['customerName', 'callDate']) });
    const put = (who: Who, body: unknown) => t.call('PUT', CALLS_FOR_YOU_API.template, { token: users[who].token, body });
    expect((await put('repA', { subject: 's', body: 'b' })).statusCode).toBe(403);
    const unknown = await put('admin', { subject: '', body: '{{customerName}} {{secret}}' });
    expect(unknown.statusCode).toBe(400);
    expect(errorMessage(unknown)).toContain('body.body: unknown placeholder {{secret}}');
    const saved = await put('admin', { subject: '{{branch}}より', body: '{{customerName}}様 {{callDate}} {{callTime}} {{repName}} {{callerNumber}}' });
    expect(saved.statusCode, saved.body).toBe(200);
    const text = await t.call('GET', CALLS_FOR_YOU_API.callbackText.replace(':key', 'call-1'), { token: users.repA.token });
    expect(text.statusCode, text.body).toBe(200);
    const value = text.json();
    expect(value.subject).toBe('渋谷支店より');
    expect(value.body).toMatch(/^渋谷 一郎様 \d{4}\/\d{2}\/\d{2} \d{2}:\d{2} rep-a \+81311110001$/);
    expect(value.toAddress).toBe('ichiro@example.jp');
    expect((await t.call('GET', CALLS_FOR_YOU_API.callbackText.replace(':key', 'call-2'), { token: users.repA.token })).statusCode).toBe(404);
  });

  it('accepts the new rights on the rights route and refuses raising them for oneself', async () => {
    const own = await t.backend.send('PATCH', API.userRights.replace(':id', users.repA.user.id), { callsAllBranches: true }, users.repA.token);
    expect(own.statusCode).toBe(403);
    const lift = await t.backend.send('PATCH', API.userRights.replace(':id', users.repB.user.id), { callsViewOnly: false }, users.admin.token);
    expect(lift.statusCode, lift.body).toBe(200);
    expect(lift.json().user).toMatchObject({ callsViewOnly: false, callsAllBranches: false });
    const back = await t.backend.send('PATCH', API.userRights.replace(':id', users.repB.user.id), { callsViewOnly: true }, users.admin.token);
    expect(back.json().user).toMatchObject({ callsViewOnly: true });
  });
});
