import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_API, MailView } from '../../../shared/api.js';
import { DIALECTS } from '../testing/harness.js';
import { startMailBackend, type MailTestBackend } from './test-support/mail-backend.js';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const TIFF = Buffer.concat([Buffer.from([0x49, 0x49, 0x2a, 0x00]), Buffer.alloc(64, 1)]);

describe.each(DIALECTS)('inbound mail on %s', (dialect) => {
  let backend: MailTestBackend;
  beforeAll(async () => {
    backend = await startMailBackend(dialect);
  });
  afterAll(() => backend?.dispose());

  const tenantId = () => backend.demo.tenant.id;
  const mailByMessageId = (messageId: string) =>
    backend.db.selectFrom('mail_messages').selectAll().where('tenant_id', '=', tenantId()).where('message_id', '=', messageId).execute();
  const changesOf = (entityId: string) =>
    backend.db.selectFrom('change_log').select(['entity', 'op']).where('tenant_id', '=', tenantId()).where('entity_id', '=', entityId).execute();

  it('refuses an unknown recipient with 550 at RCPT and stores nothing', async () => {
    const error = await backend.deliverExpectingError({
      from: 'someone@example.net',
      to: 'nobody@demo.tsunagu.localhost',
      subject: 'lost',
      text: 'hello',
      messageId: '<lost-1@example.net>',
    });
    expect(error?.responseCode).toBe(550);
    expect(error?.command).toMatch(/RCPT/);
    expect(await mailByMessageId('lost-1@example.net')).toHaveLength(0);
  });

  it('turns mail from an unknown sender into a new prospect with an incident and an email contact, through the change log', async () => {
    await backend.deliver({
      from: '"Kenji Tanaka" <Kenji.Tanaka@Example.NET>',
      to: backend.mail.supportAddress,
      subject: 'Question about my order',
      text: 'Where is my order?',
      html: '<p onclick="steal()">Where is <b>my order</b>?</p><script>alert(1)</script><img src="https://tracker.example/p.gif">',
      messageId: '<stranger-1@example.net>',
    });
    const [mail] = await mailByMessageId('stranger-1@example.net');
    expect(mail).toMatchObject({ kind: 'email', thread_match: 'new_customer', from_address: 'kenji.tanaka@example.net', queue_state: 'waiting' });
    expect(mail?.html_sanitized).toContain('<b>my order</b>');
    expect(mail?.html_sanitized).not.toMatch(/script|onclick/i);
    expect(mail?.raw.toString('utf8')).toContain('Where is my order?');

    const customer = await backend.db.selectFrom('customers').selectAll().where('id', '=', mail!.customer_id).executeTakeFirstOrThrow();
    expect(customer).toMatchObject({ type: 'prospect', name: 'Kenji Tanaka', classification: 3 });
    const emails = await backend.db.selectFrom('customer_emails').select('email').where('customer_id', '=', customer.id).execute();
    expect(emails.map((e) => e.email)).toEqual(['kenji.tanaka@example.net']);
    const incident = await backend.db.selectFrom('incidents').selectAll().where('id', '=', mail!.incident_id).executeTakeFirstOrThrow();
    expect(incident).toMatchObject({ customer_id: customer.id, title: 'Question about my order', status: 'open' });
    expect(incident.ref_no).toBeGreaterThan(0);
    const contact = await backend.db.selectFrom('contacts').selectAll().where('id', '=', mail!.contact_id).executeTakeFirstOrThrow();
    expect(contact).toMatchObject({ kind: 'email', direction: 'inbound', incident_id: incident.id, summary: 'Question about my order' });

    expect(await changesOf(customer.id)).toContainEqual({ entity: 'customer', op: 'upsert' });
    expect(await changesOf(incident.id)).toContainEqual({ entity: 'incident', op: 'upsert' });
    expect(await changesOf(contact.id)).toContainEqual({ entity: 'contact', op: 'upsert' });
    const audit = await backend.db.selectFrom('audit_events').selectAll().where('action', '=', 'mail_received').where('customer_id', '=', customer.id).execute();
    expect(audit).toHaveLength(1);

    // The app reaches the whole mail from the contact in its incident tree.
    const response = await backend.call('GET', MAIL_API.mailByContact.replace(':contactId', contact.id), backend.tokens.agent);
    expect(response.statusCode).toBe(200);
    const view = MailView.parse(response.json());
    expect(view).toMatchObject({ id: mail!.id, customerName: 'Kenji Tanaka', incidentRef: `INC-${incident.ref_no}`, threadMatch: 'new_customer' });
  });

  it('files mail from a known customer (any case of the address) in that customer\'s open incident', async () => {
    const { yamada } = backend.demo.customers;
    await backend.deliver({
      from: 'TARO.Yamada@Example.JP',
      to: backend.mail.supportAddress.toUpperCase(),
      subject: '新しいご相談',
      text: 'よろしくお願いします。',
      messageId: '<yamada-1@example.jp>',
    });
    const [mail] = await mailByMessageId('yamada-1@example.jp');
    expect(mail).toMatchObject({ customer_id: yamada.id, thread_match: 'sender' });
    // Not a new, unassigned incident: the customer's open one, with its assignee.
    expect(mail!.incident_id).toBe(yamada.incidentIds[0]);
    const incident = await backend.db.selectFrom('incidents').selectAll().where('id', '=', mail!.incident_id).executeTakeFirstOrThrow();
    expect(incident).toMatchObject({ customer_id: yamada.id, title: '請求書の再発行', assignee_id: backend.demo.users.agent.id });
    // The demo's yamada was last handled by the agent: dispatch will offer it to them first.
    expect(mail!.preferred_user_id).toBe(backend.demo.users.agent.id);
  });

  it('threads by In-Reply-To, then by References, then by the subject token', async () => {
    await backend.deliver({
      from: 'first@example.org',
      to: backend.mail.supportAddress,
      subject: 'Broken device',
      text: 'It does not start.',
      messageId: '<thread-root@example.org>',
    });
    const [root] = await mailByMessageId('thread-root@example.org');

    // Another address (the customer's colleague) answering the thread still lands in it.
    await backend.deliver({
      from: 'colleague@example.org',
      to: backend.mail.supportAddress,
      subject: 'Re: Broken device',
      text: 'Same here.',
      messageId: '<thread-2@example.org>',
      inReplyTo: '<thread-root@example.org>',
    });
    const [byInReplyTo] = await mailByMessageId('thread-2@example.org');
    expect(byInReplyTo).toMatchObject({ incident_id: root!.incident_id, customer_id: root!.customer_id, thread_match: 'in_reply_to' });

    await backend.deliver({
      from: 'first@example.org',
      to: backend.mail.supportAddress,
      subject: 'Re: Broken device',
      text: 'Any news?',
      messageId: '<thread-3@example.org>',
      inReplyTo: '<never-seen@elsewhere.example>',
      references: ['<thread-root@example.org>', '<never-seen@elsewhere.example>'],
    });
    const [byReferences] = await mailByMessageId('thread-3@example.org');
    expect(byReferences).toMatchObject({ incident_id: root!.incident_id, thread_match: 'references' });

    // A closed incident answered by its customer through its keyed token opens again, and the apps hear of it.
    await backend.db.updateTable('incidents').set({ status: 'closed', closed_at: new Date().toISOString() }).where('id', '=', root!.incident_id).execute();
    const incident = await backend.db.selectFrom('incidents').select(['ref_no', 'ref_key']).where('id', '=', root!.incident_id).executeTakeFirstOrThrow();
    expect(incident.ref_key).toMatch(/^[0-9A-Z]{8}$/);
    const changesBefore = (await changesOf(root!.incident_id)).length;
    await backend.deliver({
      from: 'First@Example.org',
      to: backend.mail.supportAddress,
      subject: `Fwd: about [#INC-${incident.ref_no}-${incident.ref_key!.toLowerCase()}] again`,
      text: 'Forwarded without headers.',
      messageId: '<thread-4@example.org>',
    });
    const [byToken] = await mailByMessageId('thread-4@example.org');
    expect(byToken).toMatchObject({ incident_id: root!.incident_id, thread_match: 'subject_token' });
    const reopened = await backend.db.selectFrom('incidents').select(['status', 'closed_at']).where('id', '=', root!.incident_id).executeTakeFirstOrThrow();
    expect(reopened).toEqual({ status: 'open', closed_at: null });
    expect((await changesOf(root!.incident_id)).length).toBe(changesBefore + 1);
  });

  it('ignores a subject token of an incident that does not exist', async () => {
    await backend.deliver({
      from: 'guess@example.org',
      to: backend.mail.supportAddress,
      subject: 'Hello [#INC-99999]',
      text: 'x',
      messageId: '<token-miss@example.org>',
    });
    const [mail] = await mailByMessageId('token-miss@example.org');
    expect(mail?.thread_match).toBe('new_customer');
  });

  it('stores a message delivered twice, or twice at once, only once', async () => {
    const message = {
      from: 'twice@example.org',
      to: backend.mail.supportAddress,
      subject: 'Delivered twice',
      text: 'The relay retried after a timeout.',
      messageId: '<dup-1@example.org>',
    };
    await backend.deliver(message);
    await backend.deliver(message);
    expect(await mailByMessageId('dup-1@example.org')).toHaveLength(1);

    // Another sender: twice@'s open incident would take this one in beside dup-1.
    const racing = { ...message, from: 'racing@example.org', messageId: '<dup-2@example.org>' };
    const results = await Promise.all([backend.deliver(racing), backend.deliver(racing), backend.deliver(racing)]);
    expect(results.map((r) => r.response)).toEqual(results.map(() => expect.stringMatching(/^250/)));
    const rows = await mailByMessageId('dup-2@example.org');
    expect(rows).toHaveLength(1);
    const contacts = await backend.db.selectFrom('contacts').select('id').where('incident_id', '=', rows[0]!.incident_id).execute();
    expect(contacts).toHaveLength(1);
  });

  it('refuses a message above the size limit with 552 during DATA', async () => {
    const error = await backend.deliverExpectingError({
      from: 'big@example.org',
      to: backend.mail.supportAddress,
      subject: 'Too big',
      text: 'x'.repeat(backend.mailConfig.inbound.maxMessageBytes + 10_000),
      messageId: '<too-big@example.org>',
    });
    expect(error?.responseCode).toBe(552);
    expect(await mailByMessageId('too-big@example.org')).toHaveLength(0);
  });

  it('keeps allowed attachments, and only the metadata of oversized or dangerous ones; downloads never render', async () => {
    await backend.deliver({
      from: 'files@example.org',
      to: backend.mail.supportAddress,
      subject: 'Files',
      text: 'See attached.',
      messageId: '<files@example.org>',
      attachments: [
        { filename: 'invoice.pdf', content: PDF, contentType: 'application/pdf' },
        { filename: 'huge.png', content: Buffer.alloc(backend.mailConfig.inbound.maxAttachmentBytes + 1, 7), contentType: 'image/png' },
        { filename: 'setup.exe', content: Buffer.from('MZ...'), contentType: 'application/pdf' },
        { filename: 'page.html', content: '<script>alert(1)</script>', contentType: 'text/html' },
      ],
    });
    const [mail] = await mailByMessageId('files@example.org');
    const view = MailView.parse((await backend.call('GET', MAIL_API.mailMessage.replace(':id', mail!.id), backend.tokens.agent)).json());
    expect(view.kind).toBe('email');
    expect(view.attachments.map((a) => [a.filename, a.rejected])).toEqual([
      ['invoice.pdf', null],
      ['huge.png', 'too_large'],
      ['setup.exe', 'type_not_allowed'],
      ['page.html', 'type_not_allowed'],
    ]);
    const stored = await backend.db.selectFrom('mail_attachments').select(['filename', 'content']).where('mail_id', '=', mail!.id).orderBy('position').execute();
    expect(stored.map((a) => a.content === null)).toEqual([false, true, true, true]);

    const download = await backend.call('GET', MAIL_API.mailAttachment.replace(':id', view.attachments[0]!.id), backend.tokens.agent);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/octet-stream');
    expect(download.headers['content-disposition']).toMatch(/^attachment; filename="invoice.pdf"/);
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    expect(download.rawPayload.equals(PDF)).toBe(true);
    const refused = await backend.call('GET', MAIL_API.mailAttachment.replace(':id', view.attachments[2]!.id), backend.tokens.agent);
    expect(refused.statusCode).toBe(404);
    const raw = await backend.call('GET', MAIL_API.mailRaw.replace(':id', mail!.id), backend.tokens.agent);
    expect(raw.headers['content-type']).toBe('application/octet-stream');
    expect(raw.body).toContain('Message-ID: <files@example.org>');
  });

  it('makes mail to the fax address with a PDF or TIFF a fax contact, and anything else there an email', async () => {
    await backend.deliver({
      from: 'gateway@fax.example',
      to: backend.mail.faxAddress,
      subject: 'FAX from 03-1234-5678',
      text: '',
      messageId: '<fax-pdf@fax.example>',
      attachments: [{ filename: 'fax.pdf', content: PDF, contentType: 'application/octet-stream' }],
    });
    await backend.deliver({
      from: 'gateway@fax.example',
      to: backend.mail.faxAddress,
      subject: 'FAX from 06-1234-5678',
      text: '',
      messageId: '<fax-tiff@fax.example>',
      attachments: [{ filename: 'fax.tif', content: TIFF, contentType: 'image/tiff' }],
    });
    await backend.deliver({
      from: 'gateway@fax.example',
      to: backend.mail.faxAddress,
      subject: 'Not a fax',
      text: 'Text only',
      messageId: '<fax-none@fax.example>',
    });
    for (const [messageId, kind] of [
      ['fax-pdf@fax.example', 'fax'],
      ['fax-tiff@fax.example', 'fax'],
      ['fax-none@fax.example', 'email'],
    ] as const) {
      const [mail] = await mailByMessageId(messageId);
      expect(mail?.kind, messageId).toBe(kind);
      expect(mail?.recipient_address).toBe(backend.mail.faxAddress);
      const contact = await backend.db.selectFrom('contacts').select('kind').where('id', '=', mail!.contact_id).executeTakeFirstOrThrow();
      expect(contact.kind, messageId).toBe(kind);
    }
  });

  it('hides mail of customers the user may not see', async () => {
    const { acme } = backend.demo.customers;
    await backend.deliver({
      from: 'board@acme.example.com',
      to: backend.mail.supportAddress,
      subject: 'Confidential',
      text: 'Merger.',
      messageId: '<acme-1@acme.example.com>',
    });
    const [mail] = await mailByMessageId('acme-1@acme.example.com');
    expect(mail?.customer_id).toBe(acme.id);
    expect((await backend.call('GET', MAIL_API.mailMessage.replace(':id', mail!.id), backend.tokens.agent)).statusCode).toBe(404);
    expect((await backend.call('GET', MAIL_API.mailMessage.replace(':id', mail!.id), backend.tokens.supervisor)).statusCode).toBe(200);
  });
});
