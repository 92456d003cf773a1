import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_API, MailTemplatesResponse, RepliesResponse, ReplyView, ReviewQueueResponse } from '../../../shared/api.js';
import { DIALECTS } from '../testing/harness.js';
import { startMailBackend, type MailTestBackend } from './test-support/mail-backend.js';

describe.each(DIALECTS)('replies and review on %s', (dialect) => {
  let backend: MailTestBackend;
  beforeAll(async () => {
    backend = await startMailBackend(dialect);
  });
  afterAll(() => backend?.dispose());

  const path = (template: string, id: string) => template.replace(':id', id);
  const mailFrom = async (from: string, subject: string) => {
    const messageId = `${randomUUID()}@example.org`;
    await backend.deliver({ from, to: backend.mail.supportAddress, subject, text: 'Please help.', messageId: `<${messageId}>` });
    return backend.db.selectFrom('mail_messages').selectAll().where('message_id', '=', messageId).executeTakeFirstOrThrow();
  };
  const draft = async (token: string, mailId: string, body: object = { body: 'Thank you, we are on it.' }) => {
    const id = randomUUID();
    const response = await backend.call('PUT', path(MAIL_API.reply, id), token, { mailId, ...body });
    expect(response.statusCode, response.body).toBe(200);
    return ReplyView.parse(response.json());
  };
  const submit = async (token: string, replyId: string) => {
    const response = await backend.call('POST', path(MAIL_API.replySubmit, replyId), token);
    expect(response.statusCode, response.body).toBe(200);
    return ReplyView.parse(response.json());
  };
  const auditOf = async (replyId: string) =>
    (
      await backend.db
        .selectFrom('audit_events')
        .select(['action', 'user_id', 'details'])
        .where('details', 'like', `%"replyId":"${replyId}"%`)
        .orderBy('id')
        .execute()
    ).map((row) => ({ action: row.action, userId: row.user_id, details: JSON.parse(row.details) as Record<string, unknown> }));

  it('drafts from a template with the customer name, incident reference and operator name filled in', async () => {
    const mail = await mailFrom('taro.yamada@example.jp', '請求書について');
    const templates = MailTemplatesResponse.parse((await backend.call('GET', MAIL_API.mailTemplates, backend.tokens.agent)).json()).templates;
    const japanese = templates.find((t) => t.name === 'お問い合わせへの回答')!;
    const reply = await draft(backend.tokens.agent, mail.id, { templateId: japanese.id });
    const incident = await backend.db.selectFrom('incidents').select('ref_no').where('id', '=', mail.incident_id).executeTakeFirstOrThrow();
    expect(reply.body).toContain('山田 太郎 様');
    expect(reply.body).toContain(`INC-${incident.ref_no}`);
    expect(reply.body).toContain('鈴木 一郎');
    expect(reply).toMatchObject({
      state: 'draft',
      subject: expect.stringMatching(new RegExp(`^Re: 請求書について \\[#INC-${incident.ref_no}-[0-9A-Z]{8}\\]$`)),
      toAddress: 'taro.yamada@example.jp',
      fromAddress: backend.mail.supportAddress,
      incidentRef: `INC-${incident.ref_no}`,
      authorName: '鈴木 一郎',
    });
  });

  it('keeps one draft however often the same PUT is retried', async () => {
    const mail = await mailFrom('retry@example.org', 'Outbox');
    const id = randomUUID();
    const body = { mailId: mail.id, body: 'Written offline.' };
    const responses = await Promise.all([1, 2, 3].map(() => backend.call('PUT', path(MAIL_API.reply, id), backend.tokens.agent, body)));
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    const rows = await backend.db.selectFrom('mail_replies').select(['id', 'body']).where('mail_id', '=', mail.id).execute();
    expect(rows).toEqual([{ id, body: 'Written offline.' }]);
  });

  it('runs draft → pending_review → returned → draft → pending_review → approved, with the rules and an audit event each', async () => {
    const mail = await mailFrom('flow@example.org', 'Flow');
    const reply = await draft(backend.tokens.agent, mail.id);
    const pending = await submit(backend.tokens.agent, reply.id);
    expect(pending.state).toBe('pending_review');
    const answered = await backend.db.selectFrom('mail_messages').select(['queue_state', 'handled_by']).where('id', '=', mail.id).executeTakeFirstOrThrow();
    expect(answered).toEqual({ queue_state: 'answered', handled_by: backend.demo.users.agent.id });

    // Submitted replies are not the author's to edit any more; agents do not review.
    expect((await backend.call('PUT', path(MAIL_API.reply, reply.id), backend.tokens.agent, { body: 'sneaky edit' })).statusCode).toBe(409);
    const agentApproves = await backend.call('POST', path(MAIL_API.replyApprove, reply.id), backend.tokens.agent, {});
    expect(agentApproves.statusCode).toBe(403);
    expect(agentApproves.json()).toMatchObject({ error: { code: 'forbidden' } });
    const emptyComment = await backend.call('POST', path(MAIL_API.replyReturn, reply.id), backend.tokens.supervisor, { comment: ' ' });
    expect(emptyComment.statusCode).toBe(400);
    expect(emptyComment.json()).toMatchObject({ error: { message: expect.stringContaining('body.comment') } });

    const returned = await backend.call('POST', path(MAIL_API.replyReturn, reply.id), backend.tokens.supervisor, { comment: 'Please add the invoice number.' });
    expect(ReplyView.parse(returned.json())).toMatchObject({ state: 'returned', reviewComment: 'Please add the invoice number.', reviewerName: '監督 花子' });

    // The author sees the returned reply with the comment, edits it (back to draft), resubmits.
    const mine = RepliesResponse.parse((await backend.call('GET', `${MAIL_API.myReplies}?state=returned`, backend.tokens.agent)).json());
    expect(mine.replies.map((r) => [r.id, r.reviewComment])).toContainEqual([reply.id, 'Please add the invoice number.']);
    const edited = ReplyView.parse((await backend.call('PUT', path(MAIL_API.reply, reply.id), backend.tokens.agent, { body: 'Invoice INV-42 is on its way.' })).json());
    expect(edited).toMatchObject({ state: 'draft', reviewComment: 'Please add the invoice number.' });
    await submit(backend.tokens.agent, reply.id);

    const approved = await backend.call('POST', path(MAIL_API.replyApprove, reply.id), backend.tokens.supervisor, {});
    expect(approved.statusCode, approved.body).toBe(200);
    const view = ReplyView.parse(approved.json());
    expect(view).toMatchObject({ state: 'approved', editedByReviewer: false, submittedBody: null, body: 'Invoice INV-42 is on its way.' });
    expect(view.messageId).toMatch(/@demo\.tsunagu\.localhost$/);
    // Approved is final: a second reviewer cannot act on it.
    expect((await backend.call('POST', path(MAIL_API.replyReturn, reply.id), backend.tokens.admin, { comment: 'late' })).statusCode).toBe(409);

    const audit = await auditOf(reply.id);
    const supervisorId = backend.demo.users.supervisor.id;
    const agentId = backend.demo.users.agent.id;
    expect(audit.map((a) => [a.action, a.userId])).toEqual([
      ['reply_drafted', agentId],
      ['reply_submitted', agentId],
      ['reply_returned', supervisorId],
      ['reply_reopened', agentId],
      ['reply_submitted', agentId],
      ['reply_approved', supervisorId],
    ]);
    expect(audit[2]!.details).toMatchObject({ comment: 'Please add the invoice number.' });
  });

  it('forbids approving a reply one wrote, even as a supervisor; another supervisor or an admin may', async () => {
    const mail = await mailFrom('self@example.org', 'Self approval');
    const reply = await draft(backend.tokens.supervisor, mail.id);
    await submit(backend.tokens.supervisor, reply.id);
    const self = await backend.call('POST', path(MAIL_API.replyApprove, reply.id), backend.tokens.supervisor, {});
    expect(self.statusCode).toBe(403);
    expect(self.json()).toMatchObject({ error: { code: 'forbidden', message: expect.stringContaining('you wrote') } });
    expect((await backend.call('POST', path(MAIL_API.replyReturn, reply.id), backend.tokens.supervisor, { comment: 'mine' })).statusCode).toBe(403);
    const byAdmin = await backend.call('POST', path(MAIL_API.replyApprove, reply.id), backend.tokens.admin, {});
    expect(byAdmin.statusCode).toBe(200);
    expect(ReplyView.parse(byAdmin.json()).reviewerId).toBe(backend.demo.users.admin.id);
  });

  it('records an edit made while approving', async () => {
    const mail = await mailFrom('edit@example.org', 'Edit then approve');
    const reply = await draft(backend.tokens.agent, mail.id, { body: 'Teh answer.' });
    await submit(backend.tokens.agent, reply.id);
    const approved = ReplyView.parse(
      (await backend.call('POST', path(MAIL_API.replyApprove, reply.id), backend.tokens.supervisor, { body: 'The answer.' })).json(),
    );
    expect(approved).toMatchObject({ state: 'approved', body: 'The answer.', submittedBody: 'Teh answer.', editedByReviewer: true });
    const audit = await auditOf(reply.id);
    expect(audit.at(-1)).toMatchObject({
      action: 'reply_approved',
      details: { edited: true, submittedBody: 'Teh answer.', approvedBody: 'The answer.' },
    });
  });

  it('lets exactly one of two reviewers acting at once win', async () => {
    const mail = await mailFrom('race@example.org', 'Two reviewers');
    const reply = await draft(backend.tokens.agent, mail.id);
    await submit(backend.tokens.agent, reply.id);
    const [a, b] = await Promise.all([
      backend.call('POST', path(MAIL_API.replyApprove, reply.id), backend.tokens.supervisor, {}),
      backend.call('POST', path(MAIL_API.replyReturn, reply.id), backend.tokens.admin, { comment: 'no' }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    const audit = await auditOf(reply.id);
    expect(audit.filter((e) => e.action === 'reply_approved' || e.action === 'reply_returned')).toHaveLength(1);
  });

  it('shows supervisors the review queue oldest first, each reply beside its mail and incident history', async () => {
    const first = await mailFrom('queue-1@example.org', 'First in queue');
    const second = await mailFrom('queue-2@example.org', 'Second in queue');
    const replyToSecond = await draft(backend.tokens.agent, second.id);
    const replyToFirst = await draft(backend.tokens.agent, first.id);
    await submit(backend.tokens.agent, replyToSecond.id);
    await submit(backend.tokens.agent, replyToFirst.id);
    // The two submissions can fall in the same millisecond (the queue then orders them by id):
    // the later one is put a second after the earlier, so the order under test is by time.
    const submitted = await backend.db.selectFrom('mail_replies').select('submitted_at').where('id', '=', replyToSecond.id).executeTakeFirstOrThrow();
    const later = new Date(Date.parse(String(submitted.submitted_at)) + 1_000).toISOString();
    await backend.db.updateTable('mail_replies').set({ submitted_at: later }).where('id', '=', replyToFirst.id).execute();

    expect((await backend.call('GET', MAIL_API.reviewQueue, backend.tokens.agent)).statusCode).toBe(403);
    const queue = ReviewQueueResponse.parse((await backend.call('GET', MAIL_API.reviewQueue, backend.tokens.supervisor)).json());
    const ids = queue.items.map((item) => item.reply.id);
    expect(ids.indexOf(replyToSecond.id)).toBeLessThan(ids.indexOf(replyToFirst.id));
    const item = queue.items.find((i) => i.reply.id === replyToFirst.id)!;
    expect(item.mail).toMatchObject({ id: first.id, subject: 'First in queue', fromAddress: 'queue-1@example.org' });
    expect(item.incident.id).toBe(first.incident_id);
    expect(item.contacts.map((c) => [c.kind, c.direction])).toEqual([['email', 'inbound']]);
    const submittedAt = queue.items.map((i) => i.reply.submittedAt!);
    expect([...submittedAt].sort()).toEqual(submittedAt);
  });

  it('discarding the only draft puts the mail back in the queue; templates are checked and managed by supervisors', async () => {
    const mail = await mailFrom('discard@example.org', 'Discard');
    const reply = await draft(backend.tokens.agent, mail.id);
    await submit(backend.tokens.agent, reply.id);
    await backend.call('POST', path(MAIL_API.replyReturn, reply.id), backend.tokens.supervisor, { comment: 'Not needed.' });
    expect((await backend.call('DELETE', path(MAIL_API.reply, reply.id), backend.tokens.supervisor)).statusCode).toBe(403);
    expect((await backend.call('DELETE', path(MAIL_API.reply, reply.id), backend.tokens.agent)).statusCode).toBe(204);
    const row = await backend.db.selectFrom('mail_messages').select('queue_state').where('id', '=', mail.id).executeTakeFirstOrThrow();
    expect(row.queue_state).toBe('waiting');

    const template = { name: 'Short', body: 'Hi {{customerName}}, see {{incidentRef}}. {{operatorName}}' };
    expect((await backend.call('POST', MAIL_API.mailTemplates, backend.tokens.agent, template)).statusCode).toBe(403);
    const unknown = await backend.call('POST', MAIL_API.mailTemplates, backend.tokens.supervisor, { ...template, body: 'Hi {{customerEmail}}' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ error: { message: expect.stringContaining('{{customerEmail}}') } });
    expect((await backend.call('POST', MAIL_API.mailTemplates, backend.tokens.supervisor, template)).statusCode).toBe(200);
    expect((await backend.call('POST', MAIL_API.mailTemplates, backend.tokens.supervisor, template)).statusCode).toBe(409);
  });

  it('refuses a draft for a mail the user may not see, naming the field', async () => {
    const mail = await mailFrom('board@acme.example.com', 'Confidential');
    const response = await backend.call('PUT', path(MAIL_API.reply, randomUUID()), backend.tokens.agent, { mailId: mail.id, body: 'x' });
    expect(response.statusCode).toBe(404);
    const missing = await backend.call('PUT', path(MAIL_API.reply, randomUUID()), backend.tokens.agent, { body: 'x' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: { message: expect.stringContaining('body.mailId') } });
  });
});
