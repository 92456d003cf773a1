import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_API, ReplyView, ReviewQueueResponse } from '../../../shared/api.js';
import type { User } from '../../../shared/domain.js';
import { branchCallsDb } from '../branch-calls/schema.js';
import { createCustomerRecord, createUser, type FixtureCustomer } from '../testing/fixtures.js';
import { DIALECTS } from '../testing/harness.js';
import type { MailConfig } from './config.js';
import { MailSender } from './sender.js';
import { CaptureRelay } from './test-support/capture-smtp.js';
import { quietLog, startMailBackend, testMailConfig, type MailTestBackend } from './test-support/mail-backend.js';

describe.each(DIALECTS)('mail to a caller of "calls for you" on %s', (dialect) => {
  let backend: MailTestBackend;
  let relay: CaptureRelay;
  let config: MailConfig;
  let rep: { user: User; token: string };
  let viewer: { user: User; token: string };
  let customer: FixtureCustomer;
  let noMail: FixtureCustomer;
  let secret: FixtureCustomer;

  beforeAll(async () => {
    backend = await startMailBackend(dialect);
    relay = new CaptureRelay();
    await relay.start();
    config = testMailConfig({ relayUrl: relay.url });
    const tenantId = backend.demo.tenant.id;
    const addUser = async (login: string) => {
      const user = await createUser(
        backend.handle,
        tenantId,
        { login, password: backend.demo.password, displayName: `${login} 担当`, branch: '渋谷支店', customerLimitAuthority: 2 },
        backend.config.argon2,
      );
      return { user, token: await backend.login(login) };
    };
    rep = await addUser('cfy-rep');
    viewer = await addUser('cfy-viewer');
    await backend.handle.db.updateTable('users').set({ calls_view_only: 1 } as never).where('id', '=', viewer.user.id).execute();
    viewer.token = await backend.login('cfy-viewer');
    customer = await createCustomerRecord(backend.handle, tenantId, {
      code: 'CM-1', name: '折返 花子', branch: '渋谷支店', classification: 2, assignedRepId: rep.user.id,
      phones: [{ e164: '+81322220001', kind: 'landline' }], emails: ['hanako.orikaeshi@example.jp', 'hanako.work@example.jp'],
    });
    noMail = await createCustomerRecord(backend.handle, tenantId, {
      code: 'CM-2', name: '電話 次郎', branch: '渋谷支店', classification: 2, phones: [{ e164: '+81322220002', kind: 'landline' }],
    });
    secret = await createCustomerRecord(backend.handle, tenantId, {
      code: 'CM-3', name: '機密 三郎', branch: '渋谷支店', classification: 1, phones: [{ e164: '+81322220003', kind: 'landline' }], emails: ['saburo@example.jp'],
    });
  });
  afterEach(() => {
    relay.accepted.length = 0;
  });
  afterAll(async () => {
    await relay?.stop();
    await backend?.dispose();
  });

  const path = (template: string, id: string) => template.replace(':id', id);
  /** A missed call to the rep's extension, as the CTI ingest logs it. */
  const missedCall = async (customerId: string, fromNumber: string) => {
    const key = `${randomUUID()}@pbx.test`;
    const startedAt = new Date(Date.parse('2026-12-01T01:05:00Z')).toISOString();
    await branchCallsDb(backend.handle.db)
      .insertInto('calls')
      .values({
        id: randomUUID(), tenant_id: backend.demo.tenant.id, external_id: key, status: 'ended', direction: 'inbound', agent_id: rep.user.id,
        from_number: fromNumber, to_number: '3001', started_at: startedAt, answered_at: null, ended_at: startedAt, updated_at: startedAt,
        customer_id: customerId, reported_events: 'missed', app_reported: 0, call_log_contact_id: null,
      } as never)
      .execute();
    return key;
  };
  const draft = (token: string, body: object, id: string = randomUUID()) => backend.call('PUT', path(MAIL_API.reply, id), token, body);
  const newSender = () => new MailSender({ handle: backend.handle, config, log: quietLog, notifier: backend.notifier });
  const handling = (key: string) =>
    branchCallsDb(backend.handle.db).selectFrom('call_handling').selectAll().where('call_key', '=', key).executeTakeFirst();

  it('drafts from the callback template to the customer, is approved in review beside the call, is sent once, filed and marks the call handled', async () => {
    const key = await missedCall(customer.id, '+81322220001');
    const response = await draft(rep.token, { callKey: key });
    expect(response.statusCode, response.body).toBe(200);
    const reply = ReplyView.parse(response.json());
    expect(reply).toMatchObject({ state: 'draft', mailId: null, callKey: key, customerId: customer.id, toAddress: 'hanako.orikaeshi@example.jp', toAddressKnown: true });
    expect(reply.fromAddress).toBe(backend.mail.supportAddress);
    expect(reply.subject).toMatch(/^【渋谷支店】お電話ありがとうございました \[#INC-\d+-[0-9A-Z]{8}\]$/);
    expect(reply.body).toContain('折返 花子 様');
    expect(reply.body).toContain('2026/12/01 10:05');
    expect(reply.body).toContain('cfy-rep 担当');
    const incident = await backend.db.selectFrom('incidents').selectAll().where('id', '=', reply.incidentId).executeTakeFirstOrThrow();
    expect(incident).toMatchObject({ customer_id: customer.id, status: 'open' });

    // Edited offline and retried: the same PUT leaves the same draft.
    for (let i = 0; i < 2; i += 1) {
      const edited = await draft(rep.token, { body: 'お電話ありがとうございました。明日お電話いたします。' }, reply.id);
      expect(edited.statusCode, edited.body).toBe(200);
    }
    expect((await backend.call('POST', path(MAIL_API.replySubmit, reply.id), rep.token)).statusCode).toBe(200);

    const queue = ReviewQueueResponse.parse((await backend.call('GET', MAIL_API.reviewQueue, backend.tokens.supervisor)).json());
    const item = queue.items.find((i) => i.reply.id === reply.id);
    expect(item).toMatchObject({
      mail: null,
      call: { key, remote: '+81322220001', outcome: 'missed', answeredBy: null, receivedBy: ['cfy-rep 担当'], startedAt: '2026-12-01T01:05:00.000Z' },
      incident: { id: reply.incidentId },
    });

    const approved = await backend.call('POST', path(MAIL_API.replyApprove, reply.id), backend.tokens.supervisor, {});
    expect(approved.statusCode, approved.body).toBe(200);
    expect(await handling(key)).toBeUndefined();
    expect(await newSender().runOnce()).toMatchObject({ sent: 1, failed: 0 });
    expect(await newSender().runOnce()).toMatchObject({ sent: 0 });
    expect(relay.accepted).toHaveLength(1);
    const [sent] = relay.accepted;
    expect(sent!.envelopeTo).toEqual(['hanako.orikaeshi@example.jp']);
    expect(sent!.parsed.inReplyTo).toBeUndefined();
    expect(sent!.parsed.text?.trim()).toBe('お電話ありがとうございました。明日お電話いたします。');

    const row = await backend.db.selectFrom('mail_replies').selectAll().where('id', '=', reply.id).executeTakeFirstOrThrow();
    expect(row.state).toBe('sent');
    const contact = await backend.db.selectFrom('contacts').selectAll().where('id', '=', row.contact_id!).executeTakeFirstOrThrow();
    expect(contact).toMatchObject({ incident_id: reply.incidentId, customer_id: customer.id, kind: 'email', direction: 'outbound', agent_id: rep.user.id });
    expect(await handling(key)).toMatchObject({ contact_id: contact.id, handled_by: rep.user.id, kind: 'contact' });
    const audit = await backend.handle.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', '=', 'call_handled')
      .where('details', 'like', `%${key}%`)
      .execute();
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ kind: 'email', replyId: reply.id, contactId: contact.id });
  });

  it('a returned mail goes back to its author with the comment, and the call stays unhandled', async () => {
    const key = await missedCall(customer.id, '+81322220001');
    const reply = ReplyView.parse((await draft(rep.token, { callKey: key, toAddress: 'hanako.work@example.jp' })).json());
    expect(reply.toAddress).toBe('hanako.work@example.jp');
    expect((await backend.call('POST', path(MAIL_API.replySubmit, reply.id), rep.token)).statusCode).toBe(200);
    const returned = await backend.call('POST', path(MAIL_API.replyReturn, reply.id), backend.tokens.supervisor, { comment: '日時を書いてください' });
    expect(returned.statusCode, returned.body).toBe(200);
    expect(ReplyView.parse(returned.json())).toMatchObject({ state: 'returned', reviewComment: '日時を書いてください', callKey: key });
    expect(await handling(key)).toBeUndefined();
    const discarded = await backend.call('DELETE', path(MAIL_API.reply, reply.id), rep.token);
    expect(discarded.statusCode, discarded.body).toBe(204);
  });

  it('refuses an address that is not the customer’s, a customer without one, and both origins at once', async () => {
    const key = await missedCall(customer.id, '+81322220001');
    const stranger = await draft(rep.token, { callKey: key, toAddress: 'someone@else.example' });
    expect(stranger.statusCode).toBe(400);
    expect(stranger.json().error.message).toContain('body.toAddress');
    const none = await draft(rep.token, { callKey: await missedCall(noMail.id, '+81322220002') });
    expect(none.statusCode).toBe(400);
    expect(none.json().error.message).toContain('no e-mail address');
    const both = await draft(rep.token, { callKey: key, mailId: randomUUID() });
    expect(both.statusCode).toBe(400);
    expect(both.json().error.message).toContain('callKey');
  });

  it('the database keeps exactly one origin on every reply', async () => {
    const key = await missedCall(customer.id, '+81322220001');
    const reply = ReplyView.parse((await draft(rep.token, { callKey: key })).json());
    const messageId = `${randomUUID()}@example.jp`;
    await backend.deliver({ from: 'hanako.orikaeshi@example.jp', to: backend.mail.supportAddress, subject: '折り返し', text: 'お願いします', messageId: `<${messageId}>` });
    const mail = await backend.db.selectFrom('mail_messages').select('id').where('message_id', '=', messageId).executeTakeFirstOrThrow();
    const both = backend.db.updateTable('mail_replies').set({ mail_id: mail.id }).where('id', '=', reply.id).execute();
    await expect(both).rejects.toThrow();
    const neither = backend.db.updateTable('mail_replies').set({ call_key: null }).where('id', '=', reply.id).execute();
    await expect(neither).rejects.toThrow();
    // Not for want of a valid mail: the same mail as the only origin is accepted.
    await backend.db.updateTable('mail_replies').set({ mail_id: mail.id, call_key: null }).where('id', '=', reply.id).execute();
  });

  it('a user who may not see the customer gets 404; a view-only user cannot start one', async () => {
    const hidden = await draft(rep.token, { callKey: await missedCall(secret.id, '+81322220003') });
    expect(hidden.statusCode).toBe(404);
    const viewOnly = await draft(viewer.token, { callKey: await missedCall(customer.id, '+81322220001') });
    expect(viewOnly.statusCode).toBe(403);
    const unknown = await draft(rep.token, { callKey: 'no-such-call@pbx.test' });
    expect(unknown.statusCode).toBe(404);
  });
});
