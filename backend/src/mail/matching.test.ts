import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_API, MailsNeedingMatchResponse, MailView, ReplyView, ReviewQueueResponse } from '../../../shared/api.js';
import { DIALECTS } from '../testing/harness.js';
import { startMailBackend, type MailTestBackend } from './test-support/mail-backend.js';

/**
 * Issue 7 item 3: a mail must prove that it belongs to an incident before it enters it. The
 * attack: a stranger guesses `[#INC-n]`, sets a Reply-To, and waits for the approved reply.
 */
describe.each(DIALECTS)('mail that points at an incident without proof, on %s', (dialect) => {
  let backend: MailTestBackend;
  beforeAll(async () => {
    backend = await startMailBackend(dialect);
  });
  afterAll(() => backend?.dispose());

  const path = (template: string, id: string) => template.replace(':id', id);
  const tenantId = () => backend.demo.tenant.id;
  const deliver = async (message: { from: string; subject: string; replyTo?: string; inReplyTo?: string }) => {
    const messageId = `${randomUUID()}@example.org`;
    await backend.deliver({ to: backend.mail.supportAddress, text: 'Please send it to me.', messageId: `<${messageId}>`, ...message });
    return backend.db.selectFrom('mail_messages').selectAll().where('tenant_id', '=', tenantId()).where('message_id', '=', messageId).executeTakeFirstOrThrow();
  };
  const view = async (token: string, mailId: string) => {
    const response = await backend.call('GET', path(MAIL_API.mailMessage, mailId), token);
    expect(response.statusCode, response.body).toBe(200);
    return MailView.parse(response.json());
  };
  const needingMatch = async (token: string) =>
    MailsNeedingMatchResponse.parse((await backend.call('GET', MAIL_API.mailsNeedingMatch, token)).json()).mails.map((m) => m.id);

  /** Acme (class 1, only the supervisor may see it) writes first, and its incident is closed. */
  const acmeIncident = async () => {
    const first = await deliver({ from: 'board@acme.example.com', subject: `Merger ${randomUUID()}` });
    await backend.db.updateTable('incidents').set({ status: 'closed', closed_at: new Date().toISOString() }).where('id', '=', first.incident_id).execute();
    return backend.db.selectFrom('incidents').selectAll().where('id', '=', first.incident_id).executeTakeFirstOrThrow();
  };
  const contactsOf = (incidentId: string) => backend.db.selectFrom('contacts').select('id').where('incident_id', '=', incidentId).execute();

  it('keeps a stranger with a guessed token and a Reply-To out of the incident, does not reopen it, and holds the mail for matching', async () => {
    const incident = await acmeIncident();
    const before = (await contactsOf(incident.id)).length;
    const mail = await deliver({ from: 'attacker@evil.example', replyTo: 'drop@evil.example', subject: `Re: transfer [#INC-${incident.ref_no}]` });

    expect(mail).toMatchObject({ match_state: 'needs_matching', match_problem: 'unknown_sender', claimed_incident_id: incident.id, thread_match: 'new_customer' });
    expect(mail.incident_id).not.toBe(incident.id);
    expect(mail.customer_id).not.toBe(incident.customer_id);
    expect(await contactsOf(incident.id)).toHaveLength(before);
    const after = await backend.db.selectFrom('incidents').select('status').where('id', '=', incident.id).executeTakeFirstOrThrow();
    expect(after.status).toBe('closed');

    // Not offered to anyone until matched.
    await backend.call('PUT', MAIL_API.agentStatus, backend.tokens.supervisor, { status: 'available' });
    for (let i = 0; i < 20; i += 1) {
      const offer = (await backend.call('POST', MAIL_API.mailOffer, backend.tokens.supervisor)).json() as { mail: { id: string } | null };
      if (!offer.mail) break;
      expect(offer.mail.id).not.toBe(mail.id);
      await backend.call('POST', path(MAIL_API.mailRelease, offer.mail.id), backend.tokens.supervisor);
      await backend.call('POST', path(MAIL_API.mailClose, offer.mail.id), backend.tokens.supervisor, {});
    }

    // The agent (class 3) sees the stranger's mail waiting, and that it points somewhere it may not look.
    expect(await needingMatch(backend.tokens.agent)).toContain(mail.id);
    const agentView = await view(backend.tokens.agent, mail.id);
    expect(agentView).toMatchObject({ matchState: 'needs_matching', matchProblem: 'unknown_sender', claimedIncident: null, claimedIncidentHidden: true, replyTo: 'drop@evil.example' });
    const refused = await backend.call('POST', path(MAIL_API.mailMatch, mail.id), backend.tokens.agent, { target: 'claimed' });
    expect(refused.statusCode).toBe(404);

    // The supervisor sees where it pointed, and files it there knowingly.
    const supervisorView = await view(backend.tokens.supervisor, mail.id);
    expect(supervisorView.claimedIncident).toMatchObject({ incidentId: incident.id, customerId: incident.customer_id, customerName: 'Acme Holdings' });
    const matched = await backend.call('POST', path(MAIL_API.mailMatch, mail.id), backend.tokens.supervisor, { target: 'claimed' });
    expect(matched.statusCode, matched.body).toBe(200);
    const filed = MailView.parse(matched.json());
    expect(filed).toMatchObject({ matchState: 'matched', incidentId: incident.id, customerId: incident.customer_id, senderKnown: false });
    expect(await contactsOf(incident.id)).toHaveLength(before + 1);
    expect(await needingMatch(backend.tokens.supervisor)).not.toContain(mail.id);
    const moved = await backend.db
      .selectFrom('change_log')
      .select(['op', 'customer_id'])
      .where('entity_id', '=', mail.contact_id)
      .orderBy('seq')
      .execute();
    expect(moved.slice(-2)).toEqual([
      { op: 'delete', customer_id: mail.customer_id },
      { op: 'upsert', customer_id: incident.customer_id },
    ]);
    const audit = await backend.db.selectFrom('audit_events').select(['action', 'user_id']).where('action', '=', 'mail_matched').where('details', 'like', `%${mail.id}%`).execute();
    expect(audit).toEqual([{ action: 'mail_matched', user_id: backend.demo.users.supervisor.id }]);

    // The reply goes to Acme's known address, not to the Reply-To; a typed address is flagged for author and reviewer.
    const replyId = randomUUID();
    const draft = ReplyView.parse((await backend.call('PUT', path(MAIL_API.reply, replyId), backend.tokens.supervisor, { mailId: mail.id, body: 'Noted.' })).json());
    expect(draft).toMatchObject({ toAddress: 'board@acme.example.com', toAddressKnown: true });
    const typed = ReplyView.parse((await backend.call('PUT', path(MAIL_API.reply, replyId), backend.tokens.supervisor, { toAddress: 'Drop@Evil.example' })).json());
    expect(typed).toMatchObject({ toAddress: 'drop@evil.example', toAddressKnown: false });
    const submitted = await backend.call('POST', path(MAIL_API.replySubmit, replyId), backend.tokens.supervisor);
    expect(submitted.statusCode, submitted.body).toBe(200);
    const queue = ReviewQueueResponse.parse((await backend.call('GET', MAIL_API.reviewQueue, backend.tokens.admin)).json());
    expect(queue.items.find((item) => item.reply.id === replyId)?.reply).toMatchObject({ toAddressKnown: false });
  });

  it('does not trust a keyed token from an unknown sender, nor a bare token from the customer, nor another customer using it', async () => {
    const incident = await acmeIncident();
    const keyed = `[#INC-${incident.ref_no}-${incident.ref_key}]`;

    const stranger = await deliver({ from: 'new-assistant@elsewhere.example', subject: `Re: Merger ${keyed}` });
    expect(stranger).toMatchObject({ match_state: 'needs_matching', match_problem: 'unknown_sender' });

    const bare = await deliver({ from: 'board@acme.example.com', subject: `Re: Merger [#INC-${incident.ref_no}]` });
    expect(bare).toMatchObject({ match_state: 'needs_matching', match_problem: 'unverified_token', customer_id: incident.customer_id });
    expect(bare.incident_id).not.toBe(incident.id);

    // Yamada (another customer) quoting Acme's token: a mismatch, filed with Yamada, Acme named only to who may see it.
    const yamada = backend.demo.customers.yamada;
    const mismatch = await deliver({ from: 'taro.yamada@example.jp', subject: `Fwd: ${keyed}` });
    expect(mismatch).toMatchObject({ match_state: 'needs_matching', match_problem: 'customer_mismatch', customer_id: yamada.id });
    expect(await view(backend.tokens.agent, mismatch.id)).toMatchObject({ customerName: '山田 太郎', senderKnown: true, claimedIncident: null, claimedIncidentHidden: true });
    expect((await view(backend.tokens.supervisor, mismatch.id)).claimedIncident).toMatchObject({ customerName: 'Acme Holdings' });

    // Kept with the sender: it joins the queue there and Acme's incident never heard of it.
    const kept = await backend.call('POST', path(MAIL_API.mailMatch, mismatch.id), backend.tokens.agent, { target: 'sender' });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(MailView.parse(kept.json())).toMatchObject({ matchState: 'matched', customerId: yamada.id });
    const again = await backend.call('POST', path(MAIL_API.mailMatch, mismatch.id), backend.tokens.agent, { target: 'sender' });
    expect(again.statusCode).toBe(409);

    // The keyed token from Acme's own address threads as before.
    const genuine = await deliver({ from: 'board@acme.example.com', subject: `Re: Merger ${keyed}` });
    expect(genuine).toMatchObject({ match_state: 'matched', incident_id: incident.id, thread_match: 'subject_token' });
  });

  it('flags a mail citing a thread of one customer but sent from another customer\'s address', async () => {
    const incident = await acmeIncident();
    const root = await backend.db.selectFrom('mail_messages').select('message_id').where('incident_id', '=', incident.id).executeTakeFirstOrThrow();
    const mail = await deliver({ from: 'taro.yamada@example.jp', subject: 'Re: Merger', inReplyTo: `<${root.message_id}>` });
    expect(mail).toMatchObject({ match_state: 'needs_matching', match_problem: 'customer_mismatch', claimed_incident_id: incident.id });
  });

  it('shows the operator another customer whose address the sender is', async () => {
    const incident = await acmeIncident();
    const mail = await deliver({ from: 'taro.yamada@example.jp', subject: `x [#INC-${incident.ref_no}-${incident.ref_key}]` });
    await backend.call('POST', path(MAIL_API.mailMatch, mail.id), backend.tokens.supervisor, { target: 'claimed' });
    const filed = await view(backend.tokens.supervisor, mail.id);
    expect(filed).toMatchObject({ customerName: 'Acme Holdings', senderKnown: false, senderCustomers: [{ id: backend.demo.customers.yamada.id, name: '山田 太郎' }] });
    expect(filed.customerEmails).toEqual(['board@acme.example.com']);
  });
});
