import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ApiErrorBody, MAIL_API, RepliesResponse, ReplyView, UserResponse } from '../../../shared/api.js';
import { startMailBackend, type MailTestBackend } from '../mail/test-support/mail-backend.js';
import { createUser } from '../testing/fixtures.js';
import { DIALECTS } from '../testing/harness.js';

describe.each(DIALECTS)('who changes rights, on %s', (dialect) => {
  let backend: MailTestBackend;
  let peer: { id: string; token: string };
  beforeAll(async () => {
    backend = await startMailBackend(dialect);
    const user = await createUser(
      backend.handle,
      backend.demo.tenant.id,
      { login: 'peer-supervisor', password: backend.demo.password, role: 'supervisor', customerLimitAuthority: 2 },
      backend.config.argon2,
    );
    peer = { id: user.id, token: await backend.login('peer-supervisor') };
  });
  afterAll(() => backend?.dispose());

  const rights = (userId: string, body: object, token: string) => backend.send('PATCH', API.userRights.replace(':id', userId), body, token);
  const errorOf = (response: { json(): unknown }) => ApiErrorBody.parse(response.json()).error;

  it("lets only admins change a supervisor's rights", async () => {
    const bySupervisor = await rights(peer.id, { customerLimitAuthority: 3 }, backend.tokens.supervisor);
    expect(bySupervisor.statusCode).toBe(403);
    expect(errorOf(bySupervisor).message).toMatch(/only admins/);
    const grant = await rights(peer.id, { mayHandleUnregisteredCallers: true }, backend.tokens.supervisor);
    expect(grant.statusCode).toBe(403);
    const byAdmin = await rights(peer.id, { customerLimitAuthority: 3 }, backend.tokens.admin);
    expect(byAdmin.statusCode, byAdmin.body).toBe(200);
    expect(UserResponse.parse(byAdmin.json()).user.customerLimitAuthority).toBe(3);
  });

  it('lets nobody raise their own rights, admins included, while lowering them stays possible', async () => {
    const supervisorId = backend.demo.users.supervisor.id;
    for (const body of [{ mayHandleUnregisteredCallers: true }, { branch: 'osaka' }]) {
      const raised = await rights(supervisorId, body, backend.tokens.supervisor);
      expect(raised.statusCode, JSON.stringify(body)).toBe(403);
      expect(errorOf(raised).message).toMatch(/own rights/);
    }
    const selfRaise = await rights(peer.id, { customerLimitAuthority: 1 }, peer.token);
    expect(selfRaise.statusCode).toBe(403);
    const adminId = backend.demo.users.admin.id;
    expect((await rights(adminId, { mayHandleUnregisteredCallers: true }, backend.tokens.admin)).statusCode).toBe(403);
    const lowered = await rights(peer.id, { customerLimitAuthority: 3 }, peer.token);
    expect(lowered.statusCode, lowered.body).toBe(200);
    // An agent may still be given a right the supervisor holds.
    expect((await rights(backend.demo.users.agent.id, { customerLimitAuthority: 3 }, backend.tokens.supervisor)).statusCode).toBe(200);
  });

  it('takes an author their replies to a customer they may no longer see', async () => {
    const messageId = `${randomUUID()}@example.org`;
    await backend.deliver({ from: 'taro.yamada@example.jp', to: backend.mail.supportAddress, subject: '口座について', text: '確認お願いします。', messageId: `<${messageId}>` });
    const mail = await backend.db.selectFrom('mail_messages').selectAll().where('message_id', '=', messageId).executeTakeFirstOrThrow();
    const replyId = randomUUID();
    const drafted = await backend.call('PUT', MAIL_API.reply.replace(':id', replyId), backend.tokens.agent, { mailId: mail.id, body: '確認いたします。' });
    expect(drafted.statusCode, drafted.body).toBe(200);
    const mine = async () => RepliesResponse.parse((await backend.call('GET', MAIL_API.myReplies, backend.tokens.agent)).json()).replies.map((r) => r.id);
    expect(await mine()).toContain(replyId);
    expect(ReplyView.parse((await backend.call('GET', MAIL_API.reply.replace(':id', replyId), backend.tokens.agent)).json()).id).toBe(replyId);

    const raised = await backend.send('PATCH', API.customer.replace(':id', mail.customer_id), { classification: 1 }, backend.tokens.admin);
    expect(raised.statusCode, raised.body).toBe(200);

    expect(await mine()).not.toContain(replyId);
    expect((await backend.call('GET', MAIL_API.reply.replace(':id', replyId), backend.tokens.agent)).statusCode).toBe(404);
    expect((await backend.call('POST', MAIL_API.replySubmit.replace(':id', replyId), backend.tokens.agent)).statusCode).toBe(404);
    expect((await backend.call('PUT', MAIL_API.reply.replace(':id', replyId), backend.tokens.agent, { body: 'まだ書ける？' })).statusCode).toBe(404);
    expect((await backend.call('DELETE', MAIL_API.reply.replace(':id', replyId), backend.tokens.agent)).statusCode).toBe(404);
    // Whoever may still see the customer still sees the reply.
    expect((await backend.call('GET', MAIL_API.reply.replace(':id', replyId), backend.tokens.admin)).statusCode).toBe(200);
  });
});
