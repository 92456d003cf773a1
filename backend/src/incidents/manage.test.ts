import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API,
  AssigneesResponse,
  CallHistoryResponse,
  ChangesPage,
  MAIL_API,
  MailView,
  PushResponse,
  type OutboxEntry,
} from '../../../shared/api.js';
import { startMailBackend, type MailTestBackend } from '../mail/test-support/mail-backend.js';
import { createCustomerRecord } from '../testing/fixtures.js';
import { DIALECTS } from '../testing/harness.js';

type Entry = OutboxEntry;

describe.each(DIALECTS)('managing incidents through the outbox on %s', (dialect) => {
  let backend: MailTestBackend;
  beforeAll(async () => {
    backend = await startMailBackend(dialect);
  });
  afterAll(() => backend?.dispose());

  const now = () => new Date().toISOString();
  const push = async (entries: Entry[], token = backend.tokens.agent) => {
    const response = await backend.send('POST', API.syncPush, { entries }, token);
    expect(response.statusCode, response.body).toBe(200);
    return PushResponse.parse(response.json()).results;
  };
  const incident = (id: string) => backend.db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
  const audits = (action: string) => backend.db.selectFrom('audit_events').selectAll().where('action', '=', action).execute();
  const cursorOf = async (token: string) => ChangesPage.parse((await backend.get(`${API.syncChanges}?after=0&limit=5000`, token)).json()).cursor;
  const changesAfter = async (cursor: number, token: string) =>
    ChangesPage.parse((await backend.get(`${API.syncChanges}?after=${cursor}&limit=5000`, token)).json()).changes;

  it('opens an incident outside a wrap-up under its clientId, audited and in the feed', async () => {
    const { yamada } = backend.demo.customers;
    const cursor = await cursorOf(backend.tokens.agent);
    const clientId = randomUUID();
    const [result] = await push([
      { type: 'create_incident', clientId, customerId: yamada.id, title: '住所変更のご依頼', assigneeId: backend.demo.users.agent.id, createdAt: now() },
    ]);
    expect(result).toMatchObject({ status: 'applied', error: null });
    expect(await incident(clientId)).toMatchObject({ customer_id: yamada.id, title: '住所変更のご依頼', status: 'open', assignee_id: backend.demo.users.agent.id });
    expect((await audits('incident_created')).map((a) => JSON.parse(a.details).incidentId)).toContain(clientId);
    const changes = await changesAfter(cursor, backend.tokens.agent);
    expect(changes).toContainEqual(expect.objectContaining({ op: 'upsert_incident', incident: expect.objectContaining({ id: clientId, title: '住所変更のご依頼' }) }));
  });

  it('refuses an agent who assigns a new incident to a colleague, and a customer the user may not see', async () => {
    const { yamada, acme } = backend.demo.customers;
    const [toColleague, invisible] = await push([
      { type: 'create_incident', clientId: randomUUID(), customerId: yamada.id, title: 'x', assigneeId: backend.demo.users.supervisor.id, createdAt: now() },
      { type: 'create_incident', clientId: randomUUID(), customerId: acme.id, title: 'x', assigneeId: null, createdAt: now() },
    ]);
    expect(toColleague).toMatchObject({ status: 'rejected', error: expect.stringMatching(/^assigneeId: /) });
    expect(invisible).toMatchObject({ status: 'rejected', error: expect.stringMatching(/^customerId: no such customer/) });
  });

  it('renames, closes, reopens and reassigns by the shared rule, each audited and in the feed', async () => {
    const { yamada } = backend.demo.customers;
    const incidentId = yamada.incidentIds[0]!;
    const cursor = await cursorOf(backend.tokens.agent);
    const [renamed, closed] = await push([
      { type: 'update_incident', clientId: randomUUID(), incidentId, title: '請求書の再発行（完了）', createdAt: now() },
      { type: 'update_incident', clientId: randomUUID(), incidentId, status: 'closed', createdAt: now() },
    ]);
    expect([renamed?.status, closed?.status]).toEqual(['applied', 'applied']);
    const afterClose = await incident(incidentId);
    expect(afterClose).toMatchObject({ title: '請求書の再発行（完了）', status: 'closed' });
    expect(afterClose?.closed_at).not.toBeNull();
    const changes = await changesAfter(cursor, backend.tokens.agent);
    expect(changes).toContainEqual(expect.objectContaining({ op: 'upsert_incident', incident: expect.objectContaining({ id: incidentId, status: 'closed' }) }));

    await push([{ type: 'update_incident', clientId: randomUUID(), incidentId, status: 'open', createdAt: now() }]);
    expect(await incident(incidentId)).toMatchObject({ status: 'open', closed_at: null });

    // The agent may hand over their own incident; the osaka agent cannot read yamada (no branch).
    const [toOsaka] = await push([
      { type: 'update_incident', clientId: randomUUID(), incidentId, assigneeId: backend.demo.users.osakaAgent.id, createdAt: now() },
    ], backend.tokens.supervisor);
    expect(toOsaka).toMatchObject({ status: 'rejected', error: expect.stringMatching(/^assigneeId: you may not/) });
    const [toSupervisor] = await push([
      { type: 'update_incident', clientId: randomUUID(), incidentId, assigneeId: backend.demo.users.supervisor.id, createdAt: now() },
    ]);
    expect(toSupervisor?.status).toBe('applied');
    // No longer theirs: the agent may not give it to someone else again.
    const [notTheirs] = await push([{ type: 'update_incident', clientId: randomUUID(), incidentId, assigneeId: null, createdAt: now() }]);
    expect(notTheirs).toMatchObject({ status: 'rejected' });
    const updates = (await audits('incident_updated')).map((a) => JSON.parse(a.details) as { incidentId: string; changed: Record<string, unknown> });
    expect(updates.filter((u) => u.incidentId === incidentId).map((u) => Object.keys(u.changed))).toEqual([['title'], ['status'], ['status'], ['assigneeId']]);
  });

  it('refuses changes to an incident of a customer the user may not see, like a missing one', async () => {
    const [acme, missing] = await push([
      { type: 'update_incident', clientId: randomUUID(), incidentId: backend.demo.customers.acme.incidentIds[0]!, title: 'x', createdAt: now() },
      { type: 'update_incident', clientId: randomUUID(), incidentId: 'no-such-incident', title: 'x', createdAt: now() },
    ]);
    expect(acme?.error).toBe(missing?.error);
    expect(acme?.status).toBe('rejected');
  });

  it('moves a contact only between incidents of its own customer', async () => {
    const { yamada, sato } = backend.demo.customers;
    const note = await backend.db.selectFrom('contacts').select('id').where('incident_id', '=', yamada.incidentIds[0]!).where('kind', '=', 'note').executeTakeFirstOrThrow();
    const target = randomUUID();
    await push([{ type: 'create_incident', clientId: target, customerId: yamada.id, title: '経理の件', assigneeId: null, createdAt: now() }]);
    const cursor = await cursorOf(backend.tokens.agent);
    const [moved] = await push([{ type: 'move_contact', clientId: randomUUID(), contactId: note.id, incidentId: target, createdAt: now() }]);
    expect(moved?.status).toBe('applied');
    expect(await backend.db.selectFrom('contacts').select('incident_id').where('id', '=', note.id).executeTakeFirst()).toEqual({ incident_id: target });
    const changes = await changesAfter(cursor, backend.tokens.agent);
    expect(changes).toContainEqual(expect.objectContaining({ op: 'upsert_contact', contact: expect.objectContaining({ id: note.id, incidentId: target }) }));
    expect((await audits('contact_moved')).map((a) => JSON.parse(a.details))).toContainEqual(
      expect.objectContaining({ contactId: note.id, fromIncidentId: yamada.incidentIds[0], toIncidentId: target }),
    );

    const [elsewhere] = await push(
      [{ type: 'move_contact', clientId: randomUUID(), contactId: note.id, incidentId: sato.incidentIds[0]!, createdAt: now() }],
      backend.tokens.supervisor,
    );
    expect(elsewhere).toMatchObject({ status: 'rejected', error: expect.stringMatching(/own customer/) });
  });

  it('files a known sender\'s mail in their open incident, and moves a mail with its reply into another incident', async () => {
    const customer = await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: 'C-MOVE',
      name: '移動 テスト',
      emails: ['move.test@example.jp'],
      incidents: [{ title: '前回のご相談', status: 'closed' }, { title: '口座開設', contacts: [{ kind: 'note', summary: 'x' }] }],
    });
    const [closedId, openId] = customer.incidentIds;
    await backend.deliver({ from: 'move.test@example.jp', to: backend.mail.supportAddress, subject: '書類について', text: '届きました。', messageId: '<move-1@example.jp>' });
    const mail = await backend.db.selectFrom('mail_messages').selectAll().where('message_id', '=', 'move-1@example.jp').executeTakeFirstOrThrow();
    expect(mail).toMatchObject({ incident_id: openId, thread_match: 'sender' });

    const replyId = randomUUID();
    const draft = await backend.call('PUT', MAIL_API.reply.replace(':id', replyId), backend.tokens.agent, { mailId: mail.id, body: 'ご確認ありがとうございます。' });
    expect(draft.statusCode, draft.body).toBe(200);

    const [moved] = await push([{ type: 'move_contact', clientId: randomUUID(), contactId: mail.contact_id, incidentId: closedId!, createdAt: now() }]);
    expect(moved?.status).toBe('applied');
    const view = MailView.parse((await backend.call('GET', MAIL_API.mailMessage.replace(':id', mail.id), backend.tokens.agent)).json());
    expect(view).toMatchObject({ incidentId: closedId, incidentTitle: '前回のご相談' });
    const reply = await backend.db.selectFrom('mail_replies').select('incident_id').where('id', '=', replyId).executeTakeFirstOrThrow();
    expect(reply.incident_id).toBe(closedId);
  });

  it('opens a new incident for a known sender whose incidents are all closed', async () => {
    const customer = await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: 'C-CLOSED',
      name: '完了 済子',
      emails: ['all.closed@example.jp'],
      incidents: [{ title: '済んだ件', status: 'closed' }],
    });
    await backend.deliver({ from: 'all.closed@example.jp', to: backend.mail.supportAddress, subject: '新しい件', text: 'x', messageId: '<closed-1@example.jp>' });
    const mail = await backend.db.selectFrom('mail_messages').selectAll().where('message_id', '=', 'closed-1@example.jp').executeTakeFirstOrThrow();
    expect(customer.incidentIds).not.toContain(mail.incident_id);
    expect(await incident(mail.incident_id)).toMatchObject({ customer_id: customer.id, title: '新しい件', status: 'open' });
  });

  it('lists who may be assigned: only users who can read the customer', async () => {
    const response = await backend.get(API.customerAssignees.replace(':id', backend.demo.customers.yamada.id), backend.tokens.agent);
    const ids = AssigneesResponse.parse(response.json()).users.map((u) => u.id);
    const { admin, supervisor, agent, osakaAgent } = backend.demo.users;
    expect(ids.sort()).toEqual([admin.id, supervisor.id, agent.id].sort());
    expect(ids).not.toContain(osakaAgent.id);
    const hidden = await backend.get(API.customerAssignees.replace(':id', backend.demo.customers.acme.id), backend.tokens.agent);
    expect(hidden.statusCode).toBe(404);
  });
});

describe.each(DIALECTS)('call history and callbacks on %s', (dialect) => {
  let backend: MailTestBackend;
  beforeAll(async () => {
    backend = await startMailBackend(dialect);
  });
  afterAll(() => backend?.dispose());

  const history = async (token = backend.tokens.agent) => {
    const response = await backend.get(API.callHistory, token);
    expect(response.statusCode, response.body).toBe(200);
    return CallHistoryResponse.parse(response.json());
  };
  const event = (body: Record<string, unknown>, token = backend.tokens.agent) =>
    backend.send('POST', '/api/calls/events', { direction: 'inbound', customerId: null, ...body }, token);
  const push = async (entries: Entry[]) => {
    const response = await backend.send('POST', API.syncPush, { entries }, backend.tokens.agent);
    return PushResponse.parse(response.json()).results;
  };
  const logCall = (callId: string, startedAt: string, createdAt: string, callbackNeeded: boolean): Entry => ({
    type: 'log_call',
    clientId: randomUUID(),
    customerId: backend.demo.customers.yamada.id,
    incidentId: backend.demo.customers.yamada.incidentIds[0]!,
    newIncidentTitle: null,
    direction: 'inbound',
    summary: '折り返し希望',
    body: '',
    callMeta: { callId, from: '+81312345678', to: 'agent', startedAt, answeredAt: startedAt, endedAt: startedAt, callbackNeeded },
    createdAt,
  });

  it('lists the operator\'s own calls, missed ones too, with the customer only where they may see it', async () => {
    const { yamada, acme } = backend.demo.customers;
    for (const e of [
      { callId: 'h-missed', event: 'ringing', remote: '+81312345678', customerId: yamada.id, at: '2026-05-01T01:00:00.000Z' },
      { callId: 'h-missed', event: 'missed', remote: '+81312345678', customerId: yamada.id, at: '2026-05-01T01:00:30.000Z' },
      { callId: 'h-answered', event: 'ringing', remote: '+81399998888', at: '2026-05-01T02:00:00.000Z' },
      { callId: 'h-answered', event: 'answered', remote: '+81399998888', at: '2026-05-01T02:00:05.000Z' },
      { callId: 'h-answered', event: 'ended', remote: '+81399998888', at: '2026-05-01T02:03:00.000Z' },
      { callId: 'h-out', event: 'ringing', direction: 'outbound', remote: '+81355550000', at: '2026-05-01T03:00:00.000Z' },
      { callId: 'h-out', event: 'ended', direction: 'outbound', remote: '+81355550000', at: '2026-05-01T03:00:20.000Z' },
    ]) {
      expect((await event(e)).statusCode).toBe(204);
    }
    // The supervisor's calls are theirs alone; acme is theirs to see.
    await event({ callId: 'h-super', event: 'ringing', remote: '+81355550000', customerId: acme.id, at: '2026-05-01T04:00:00.000Z' }, backend.tokens.supervisor);
    await event({ callId: 'h-super', event: 'missed', remote: '+81355550000', customerId: acme.id, at: '2026-05-01T04:00:30.000Z' }, backend.tokens.supervisor);

    const { calls } = await history();
    expect(calls.map((c) => [c.callId, c.outcome, c.direction])).toEqual([
      ['h-out', 'no_answer', 'outbound'],
      ['h-answered', 'answered', 'inbound'],
      ['h-missed', 'missed', 'inbound'],
    ]);
    expect(calls.find((c) => c.callId === 'h-missed')).toMatchObject({ remote: '+81312345678', customerId: yamada.id, customerName: '山田 太郎' });
    const supervisors = await history(backend.tokens.supervisor);
    expect(supervisors.calls).toEqual([expect.objectContaining({ callId: 'h-super', outcome: 'missed', customerId: acme.id, customerName: 'Acme Holdings' })]);
  });

  it('keeps a wrap-up\'s callback open until a later call with the customer is logged, or it is marked done', async () => {
    const first = logCall('cb-1', '2026-05-02T01:00:00.000Z', '2026-05-02T01:05:00.000Z', true);
    expect((await push([first]))[0]?.status).toBe('applied');
    let { callbacks } = await history();
    expect(callbacks).toEqual([
      expect.objectContaining({ id: first.clientId, customerId: backend.demo.customers.yamada.id, callId: 'cb-1', remote: '+81312345678', doneAt: null }),
    ]);

    // A wrap-up pushed late, of a call that began before the callback was asked for, leaves it open.
    await push([logCall('cb-early', '2026-05-02T00:30:00.000Z', '2026-05-02T06:00:00.000Z', false)]);
    ({ callbacks } = await history());
    expect(callbacks.find((c) => c.id === first.clientId)?.doneAt).toBeNull();

    const later = logCall('cb-2', '2026-05-02T03:00:00.000Z', '2026-05-02T03:05:00.000Z', true);
    await push([later]);
    ({ callbacks } = await history());
    expect(callbacks.find((c) => c.id === first.clientId)).toMatchObject({ doneReason: 'called' });
    expect(callbacks.find((c) => c.id === later.clientId)).toMatchObject({ doneAt: null });

    const [marked] = await push([{ type: 'complete_callback', clientId: randomUUID(), callbackId: later.clientId, createdAt: new Date().toISOString() }]);
    expect(marked?.status).toBe('applied');
    ({ callbacks } = await history());
    expect(callbacks.find((c) => c.id === later.clientId)).toMatchObject({ doneReason: 'marked' });
    const done = await backend.db.selectFrom('audit_events').select('details').where('action', '=', 'callback_done').execute();
    expect(done.map((d) => JSON.parse(d.details).reason).sort()).toEqual(['called', 'marked']);
  });
});
