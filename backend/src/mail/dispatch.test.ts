import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAIL_API, MailOfferResponse, SupervisorSummary, type AgentStatus } from '../../../shared/api.js';
import { EventStreamReader } from '../testing/event-stream.js';
import { createUser } from '../testing/fixtures.js';
import { DIALECTS } from '../testing/harness.js';
import { addSeconds } from './clock.js';
import { startMailBackend, type MailTestBackend } from './test-support/mail-backend.js';

describe.each(DIALECTS)('mail dispatch on %s', (dialect) => {
  let backend: MailTestBackend;
  const operators: { id: string; token: string }[] = [];

  beforeAll(async () => {
    backend = await startMailBackend(dialect);
    for (let i = 0; i < 8; i++) {
      const user = await createUser(
        backend.handle,
        backend.demo.tenant.id,
        { login: `op${i}`, displayName: `Operator ${i}`, password: backend.demo.password },
        backend.config.argon2,
      );
      operators.push({ id: user.id, token: await backend.login(`op${i}`) });
    }
  });
  afterAll(() => backend?.dispose());

  // Every test starts with an empty queue, nobody present and no calls.
  beforeEach(async () => {
    const tenantId = backend.demo.tenant.id;
    await backend.db.updateTable('mail_messages').set({ queue_state: 'closed' }).where('tenant_id', '=', tenantId).execute();
    await backend.db.deleteFrom('agent_presence').where('tenant_id', '=', tenantId).execute();
    await backend.db.deleteFrom('calls').where('tenant_id', '=', tenantId).execute();
    await backend.db.deleteFrom('mail_settings').where('tenant_id', '=', tenantId).execute();
  });

  const offer = async (token: string, app?: FastifyInstance) => {
    const response = await backend.call('POST', MAIL_API.mailOffer, token, undefined, app);
    expect(response.statusCode, response.body).toBe(200);
    return MailOfferResponse.parse(response.json());
  };
  const setStatus = async (token: string, status: AgentStatus) => {
    const response = await backend.call('PUT', MAIL_API.agentStatus, token, { status });
    expect(response.statusCode, response.body).toBe(200);
  };
  const mailFrom = async (from: string, subject = 'Hello') => {
    const messageId = `${randomUUID()}@example.org`;
    await backend.deliver({ from, to: backend.mail.supportAddress, subject, text: 'text', messageId: `<${messageId}>` });
    const row = await backend.db.selectFrom('mail_messages').select('id').where('message_id', '=', messageId).executeTakeFirstOrThrow();
    return row.id;
  };
  /**
   * Moves an operator's last sign of life `seconds` into the past, as if that much time had
   * passed without a heartbeat: lease expiry is judged by stored timestamps, never by timers.
   */
  const silence = async (userId: string, seconds: number) => {
    const past = addSeconds(new Date().toISOString(), -seconds);
    await backend.db.updateTable('agent_presence').set({ last_seen_at: past }).where('user_id', '=', userId).execute();
    await backend.db.updateTable('mail_messages').set({ lease_seen_at: past }).where('lease_user_id', '=', userId).execute();
  };

  it('offers a mail to one operator at a time, gives the holder the same mail back, and re-offers it on release', async () => {
    const [a, b] = operators;
    const mailId = await mailFrom('one@example.org');
    const first = await offer(a!.token);
    expect(first).toMatchObject({ status: 'offered', mail: { id: mailId } });
    expect(first.leaseExpiresAt).not.toBeNull();
    expect(await offer(a!.token)).toMatchObject({ status: 'offered', mail: { id: mailId } });
    expect(await offer(b!.token)).toMatchObject({ status: 'none', mail: null });

    expect((await backend.call('POST', MAIL_API.mailRelease.replace(':id', mailId), b!.token)).statusCode).toBe(409);
    expect((await backend.call('POST', MAIL_API.mailRelease.replace(':id', mailId), a!.token)).statusCode).toBe(204);
    expect(await offer(b!.token)).toMatchObject({ status: 'offered', mail: { id: mailId } });

    const audit = await backend.db
      .selectFrom('audit_events')
      .select(['action', 'user_id'])
      .where('details', 'like', `%${mailId}%`)
      .where('action', 'in', ['mail_offered', 'mail_released'])
      .orderBy('id')
      .execute();
    expect(audit).toEqual([
      { action: 'mail_offered', user_id: a!.id },
      { action: 'mail_released', user_id: a!.id },
      { action: 'mail_offered', user_id: b!.id },
    ]);
  });

  it('takes the lease from an operator who disconnected or ignored the mail, and loses nothing', async () => {
    const [a, b] = operators;
    const mailId = await mailFrom('vanish@example.org');
    expect(await offer(a!.token)).toMatchObject({ status: 'offered', mail: { id: mailId } });

    // 30 s of silence is not a disconnect, and a heartbeat renews the lease's sign of life.
    await silence(a!.id, 30);
    expect((await backend.call('POST', MAIL_API.agentHeartbeat, a!.token)).statusCode).toBe(200);
    await silence(a!.id, 45);
    expect(await offer(b!.token)).toMatchObject({ status: 'none' });

    // No heartbeat for more than 60 s: the operator has gone, the mail goes to someone else.
    await silence(a!.id, 61);
    expect(await offer(b!.token)).toMatchObject({ status: 'offered', mail: { id: mailId } });
    const offered = await backend.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'mail_offered')
      .where('user_id', '=', b!.id)
      .where('details', 'like', `%${mailId}%`)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(offered.details)).toMatchObject({ previousHolder: a!.id, offerCount: 2 });
    // The one who vanished comes back: the mail is not theirs any more.
    expect(await offer(a!.token)).toMatchObject({ status: 'none' });

    // Ignored for N minutes (the lease ran out while the app kept beating): offered again.
    await backend.db.updateTable('mail_messages').set({ lease_expires_at: addSeconds(new Date().toISOString(), -1) }).where('id', '=', mailId).execute();
    expect((await backend.call('POST', MAIL_API.agentHeartbeat, b!.token)).statusCode).toBe(200);
    expect(await offer(a!.token)).toMatchObject({ status: 'offered', mail: { id: mailId } });
    const row = await backend.db.selectFrom('mail_messages').select(['queue_state', 'offer_count']).where('id', '=', mailId).executeTakeFirstOrThrow();
    expect(row).toEqual({ queue_state: 'waiting', offer_count: 3 });
  });

  it('never offers one mail to two operators, even with two backend instances racing', async () => {
    // On PostgreSQL the second instance has its own connection pool, as a second process would.
    // SQLite serves one process by design (db/database.ts), so there it shares the handle.
    const other = dialect === 'postgres' ? await backend.otherInstance() : backend.secondInstance();
    await other.ready();
    const mails = new Set<string>();
    for (let i = 0; i < 5; i++) mails.add(await mailFrom(`race${i}@example.org`, `Race ${i}`));
    for (let round = 0; round < 6; round++) {
      const results = await Promise.all(
        operators.map((operator, index) => offer(operator.token, index % 2 === 0 ? backend.app : other).then((r) => ({ operator, r }))),
      );
      const offered = results.filter(({ r }) => r.status === 'offered');
      const mailIds = offered.map(({ r }) => r.mail!.id);
      expect(new Set(mailIds).size, `round ${round}: ${mailIds.join(', ')}`).toBe(mailIds.length);
      expect(mailIds.length).toBe(mails.size);
      for (const id of mailIds) expect(mails.has(id)).toBe(true);
      const leases = await backend.db.selectFrom('mail_messages').select(['id', 'lease_user_id']).where('id', 'in', [...mails]).execute();
      for (const { operator, r } of offered) expect(leases.find((l) => l.id === r.mail!.id)?.lease_user_id).toBe(operator.id);
      // Everyone gives their mail back, so the next round races again.
      await Promise.all(
        offered.map(({ operator, r }) =>
          backend.call('POST', MAIL_API.mailRelease.replace(':id', r.mail!.id), operator.token, undefined, round % 2 === 0 ? other : backend.app),
        ),
      );
    }
  });

  it("offers first the mail of customers the operator handled last, and others' after the preference window", async () => {
    const agent = { id: backend.demo.users.agent.id, token: backend.tokens.agent };
    const [b] = operators;
    const stranger = await mailFrom('stranger@example.org', 'Older, from a stranger');
    const yamada = await mailFrom('taro.yamada@example.jp', 'Newer, from a customer the agent handled');
    await backend.call('POST', MAIL_API.agentHeartbeat, agent.token);

    // b gets the stranger's mail; yamada's waits for the agent who is online.
    expect(await offer(b!.token)).toMatchObject({ status: 'offered', mail: { id: stranger } });
    await backend.call('POST', MAIL_API.mailRelease.replace(':id', stranger), b!.token);
    await backend.db.updateTable('mail_messages').set({ queue_state: 'closed' }).where('id', '=', stranger).execute();
    expect(await offer(b!.token)).toMatchObject({ status: 'none' });

    // The agent gets yamada's newer mail before the older one.
    const older = await mailFrom('another-stranger@example.org');
    await backend.db.updateTable('mail_messages').set({ received_at: addSeconds(new Date().toISOString(), -30) }).where('id', '=', older).execute();
    expect(await offer(agent.token)).toMatchObject({ status: 'offered', mail: { id: yamada } });
    await backend.call('POST', MAIL_API.mailRelease.replace(':id', yamada), agent.token);
    await backend.db.updateTable('mail_messages').set({ queue_state: 'closed' }).where('id', '=', older).execute();

    // Preferred operator offline: no reason to wait.
    await setStatus(agent.token, 'offline');
    expect(await offer(b!.token)).toMatchObject({ status: 'offered', mail: { id: yamada } });
    await backend.call('POST', MAIL_API.mailRelease.replace(':id', yamada), b!.token);

    // Preferred operator online (on a call counts: they come back to it) keeps it reserved,
    // until the mail has waited past the preference window: then anyone may take it.
    await setStatus(agent.token, 'on_call');
    expect(await offer(b!.token)).toMatchObject({ status: 'none' });
    await backend.db
      .updateTable('mail_messages')
      .set({ received_at: addSeconds(new Date().toISOString(), -backend.mailConfig.dispatch.preferenceSeconds - 5) })
      .where('id', '=', yamada)
      .execute();
    expect(await offer(b!.token)).toMatchObject({ status: 'offered', mail: { id: yamada } });
  });

  it('pauses offering while ringing calls per available agent are above the threshold', async () => {
    const [a, b] = operators;
    const mailId = await mailFrom('busy@example.org');
    await backend.call('POST', MAIL_API.agentHeartbeat, a!.token);
    await backend.call('POST', MAIL_API.agentHeartbeat, b!.token);
    const now = new Date().toISOString();
    const call = (status: 'ringing' | 'connected') => ({
      id: randomUUID(),
      tenant_id: backend.demo.tenant.id,
      external_id: null,
      status,
      direction: 'inbound' as const,
      agent_id: null,
      from_number: '+81312345678',
      to_number: '+81300000000',
      started_at: now,
      answered_at: null,
      ended_at: null,
      updated_at: now,
    });
    const ringing = [call('ringing'), call('ringing')];
    await backend.db.insertInto('calls').values(ringing).execute();
    // 2 ringing / 2 available = 1 > 0.5 (the default threshold).
    expect(await offer(a!.token)).toMatchObject({ status: 'paused', mail: null });

    const summary = SupervisorSummary.parse((await backend.call('GET', MAIL_API.supervisorSummary, backend.tokens.supervisor)).json());
    expect(summary).toMatchObject({ paused: true, calls: { ringing: 2, connected: 0 }, mails: { waiting: 1 } });

    const settings = await backend.call('PUT', MAIL_API.mailSettings, backend.tokens.supervisor, { busyCallsPerAgent: 1 });
    expect(settings.json()).toMatchObject({ busyCallsPerAgent: 1 });
    expect(await offer(a!.token)).toMatchObject({ status: 'offered', mail: { id: mailId } });
    await backend.call('POST', MAIL_API.mailRelease.replace(':id', mailId), a!.token);

    await backend.call('PUT', MAIL_API.mailSettings, backend.tokens.supervisor, { busyCallsPerAgent: null });
    expect(await offer(a!.token)).toMatchObject({ status: 'paused' });
    await backend.db.updateTable('calls').set({ status: 'connected' }).where('id', 'in', ringing.map((c) => c.id)).execute();
    expect(await offer(a!.token)).toMatchObject({ status: 'offered', mail: { id: mailId } });
  });

  it('offers nothing to an operator who is not available, and takes the lease back on a break', async () => {
    const [a, b] = operators;
    const mailId = await mailFrom('break@example.org');
    expect(await offer(a!.token)).toMatchObject({ status: 'offered', mail: { id: mailId } });
    await setStatus(a!.token, 'break');
    expect(await offer(a!.token)).toMatchObject({ status: 'not_available', agentStatus: 'break' });
    expect(await offer(b!.token)).toMatchObject({ status: 'offered', mail: { id: mailId } });
    await setStatus(b!.token, 'on_call');
    expect(await offer(b!.token)).toMatchObject({ status: 'not_available', agentStatus: 'on_call' });

    const changes = await backend.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'agent_status_changed')
      .where('user_id', '=', a!.id)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(changes.details)).toMatchObject({ from: 'available', to: 'break', releasedMails: [mailId] });
  });

  it('keeps a mail offered to one operator from being answered or closed by another, and extends the lease while it is drafted', async () => {
    const [a, b] = operators;
    const mailId = await mailFrom('mine@example.org');
    const offered = await offer(a!.token);
    expect(offered).toMatchObject({ status: 'offered', mail: { id: mailId } });

    const byOther = await backend.call('PUT', MAIL_API.reply.replace(':id', randomUUID()), b!.token, { mailId, body: 'Me too.' });
    expect(byOther.statusCode).toBe(409);
    expect((await backend.call('POST', MAIL_API.mailClose.replace(':id', mailId), b!.token, { note: 'spam' })).statusCode).toBe(409);

    await backend.db.updateTable('mail_messages').set({ lease_expires_at: addSeconds(new Date().toISOString(), 5) }).where('id', '=', mailId).execute();
    const replyId = randomUUID();
    expect((await backend.call('PUT', MAIL_API.reply.replace(':id', replyId), a!.token, { mailId, body: 'On it.' })).statusCode).toBe(200);
    const leased = await backend.db.selectFrom('mail_messages').select('lease_expires_at').where('id', '=', mailId).executeTakeFirstOrThrow();
    expect(leased.lease_expires_at! > addSeconds(new Date().toISOString(), 60)).toBe(true);

    expect((await backend.call('POST', MAIL_API.replySubmit.replace(':id', replyId), a!.token)).statusCode).toBe(200);
    const answered = await backend.db.selectFrom('mail_messages').select(['queue_state', 'lease_user_id']).where('id', '=', mailId).executeTakeFirstOrThrow();
    expect(answered).toEqual({ queue_state: 'answered', lease_user_id: null });
    expect(await offer(b!.token)).toMatchObject({ status: 'none' });

    const other = await mailFrom('closing@example.org');
    expect(await offer(b!.token)).toMatchObject({ status: 'offered', mail: { id: other } });
    const closed = await backend.call('POST', MAIL_API.mailClose.replace(':id', other), backend.tokens.supervisor, { note: 'Thank-you note, no answer needed' });
    expect(closed.json()).toMatchObject({ queueState: 'closed', closeNote: 'Thank-you note, no answer needed', leaseUserId: null });
  });

  it('only offers mail of customers the operator may see', async () => {
    const mailId = await mailFrom('board@acme.example.com', 'Confidential');
    expect(await offer(backend.tokens.agent)).toMatchObject({ status: 'none' });
    expect(await offer(backend.tokens.supervisor)).toMatchObject({ status: 'offered', mail: { id: mailId } });
  });

  it('pushes the live view to supervisors over SSE when something changes', async () => {
    const base = await backend.listen();
    const operatorStream = new EventStreamReader(`${base}${MAIL_API.mailEvents}`, operators[0]!.token);
    const supervisorStream = new EventStreamReader(`${base}${MAIL_API.mailEvents}`, backend.tokens.supervisor);
    try {
      expect(await supervisorStream.status).toBe(200);
      const initial = await supervisorStream.next((e) => e.event === 'summary');
      expect(SupervisorSummary.parse(initial.data).mails.waiting).toBe(0);
      await operatorStream.next((e) => e.event === 'queue');

      const arrived = supervisorStream.upcoming((e) => e.event === 'summary' && SupervisorSummary.parse(e.data).mails.waiting === 1);
      const queued = operatorStream.upcoming((e) => e.event === 'queue' && (e.data as { waiting: number }).waiting === 1);
      await mailFrom('live@example.org');
      const summary = SupervisorSummary.parse((await arrived).data);
      await queued;
      expect(summary.today.hours.reduce((sum, h) => sum + h.mails, 0)).toBeGreaterThanOrEqual(1);

      const onBreak = supervisorStream.upcoming(
        (e) => e.event === 'summary' && SupervisorSummary.parse(e.data).agents.some((a) => a.userId === operators[1]!.id && a.status === 'break'),
      );
      await setStatus(operators[1]!.token, 'break');
      const agent = SupervisorSummary.parse((await onBreak).data).agents.find((a) => a.userId === operators[1]!.id);
      expect(agent).toMatchObject({ displayName: 'Operator 1', status: 'break' });
      expect(operatorStream.events.some((e) => e.event === 'summary')).toBe(false);
    } finally {
      operatorStream.close();
      supervisorStream.close();
    }
  });

  it('keeps the status chosen last: a change that arrives late never overwrites a newer one', async () => {
    const op = operators[6]!;
    const put = async (body: Record<string, unknown>) => {
      const response = await backend.call('PUT', MAIL_API.agentStatus, op.token, body);
      expect(response.statusCode, response.body).toBe(200);
      return response.json() as { status: AgentStatus; applied: boolean };
    };
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    // Chosen offline 5 minutes ago (break), then 2 minutes ago (after-call work): the app sends
    // the latest; the older one, still in flight from before, arrives after it.
    expect(await put({ status: 'after_call_work', changedAt: minutesAgo(2) })).toMatchObject({ status: 'after_call_work', applied: true });
    expect(await put({ status: 'break', changedAt: minutesAgo(5) })).toMatchObject({ status: 'after_call_work', applied: false });
    const row = await backend.db.selectFrom('agent_presence').select(['status']).where('user_id', '=', op.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('after_call_work');
    expect(await put({ status: 'break', changedAt: minutesAgo(1) })).toMatchObject({ status: 'break', applied: true });
    // A clock far ahead counts as the server's now, so it does not pin the status for hours.
    expect(await put({ status: 'available', changedAt: new Date(Date.now() + 3_600_000).toISOString() })).toMatchObject({ applied: true });
    expect(await put({ status: 'break', changedAt: new Date().toISOString() })).toMatchObject({ status: 'break', applied: true });
    expect((await backend.call('PUT', MAIL_API.agentStatus, op.token, { status: 'break', changedAt: 'yesterday' })).json()).toMatchObject({
      error: { code: 'invalid_input', message: expect.stringContaining('body.changedAt') },
    });
  });

  it('lets only supervisors read the live view', async () => {
    expect((await backend.call('GET', MAIL_API.supervisorSummary, backend.tokens.agent)).statusCode).toBe(403);
    const summary = await backend.call('GET', MAIL_API.supervisorSummary, backend.tokens.admin);
    expect(summary.statusCode).toBe(200);
    expect(SupervisorSummary.parse(summary.json()).today.hours).toHaveLength(24);
    expect((await backend.call('PUT', MAIL_API.agentStatus, backend.tokens.agent, { status: 'lunch' })).json()).toMatchObject({
      error: { code: 'invalid_input', message: expect.stringContaining('body.status') },
    });
  });
});
