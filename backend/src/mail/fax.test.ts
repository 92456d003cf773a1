import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaxPagesView, MAIL_API, MailView } from '../../../shared/api.js';
import { DIALECTS } from '../testing/harness.js';
import { faxPdf, faxTiff } from './fax-documents.js';
import { faxSenderNumber } from './fax.js';
import { startMailBackend, type MailTestBackend } from './test-support/mail-backend.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe('faxSenderNumber', () => {
  it.each([
    ['FAX from 03-1234-5678 (2 pages)', '+81312345678'],
    ['受信FAX ０３１２３４５６７８ 2026/12/06', '+81312345678'],
    ['Fax von +49 30 1234567', '+49301234567'],
    ['Incoming fax', null],
    ['Page 1 of 2, 2026/12/06', null],
  ])('reads %s', (subject, expected) => {
    expect(faxSenderNumber(new Map(), subject, 'JP')).toBe(expected);
  });
  it('takes a sender header over the subject', () => {
    expect(faxSenderNumber(new Map([['x-fax-sender', 'TEL +81 6-6123-4567']]), 'FAX from 03-1234-5678', 'JP')).toBe('+81661234567');
  });
});

describe.each(DIALECTS)('faxes on %s', (dialect) => {
  let backend: MailTestBackend;
  beforeAll(async () => {
    backend = await startMailBackend(dialect);
  });
  afterAll(() => backend?.dispose());

  const tenantId = () => backend.demo.tenant.id;
  const mailOf = async (messageId: string) =>
    backend.db.selectFrom('mail_messages').selectAll().where('tenant_id', '=', tenantId()).where('message_id', '=', messageId).executeTakeFirstOrThrow();
  /** The gateway's own address is one of Acme's: the old matching filed every fax under Acme. */
  const gateway = 'board@acme.example.com';
  const sendFax = (messageId: string, subject: string, headers: Record<string, string> = {}, document: Buffer = faxPdf(['ORDER'])) =>
    backend.deliver({
      from: gateway,
      to: backend.mail.faxAddress,
      subject,
      text: '',
      headers,
      messageId: `<${messageId}>`,
      attachments: [{ filename: 'fax.pdf', content: document, contentType: 'application/pdf' }],
    });

  it('files a fax under the customer whose number the gateway names in the subject, not under the gateway address', async () => {
    await sendFax('fax-subject@gw.example', 'FAX from 03-1234-5678 (2 pages)');
    const mail = await mailOf('fax-subject@gw.example');
    expect(mail.kind).toBe('fax');
    expect(mail.customer_id).toBe(backend.demo.customers.yamada.id);
    expect(mail.customer_id).not.toBe(backend.demo.customers.acme.id);
    expect(mail.fax_sender).toBe('+81312345678');
    expect(mail.thread_match).toBe('sender');
    const contact = await backend.db.selectFrom('contacts').select(['kind', 'customer_id']).where('id', '=', mail.contact_id).executeTakeFirstOrThrow();
    expect(contact).toEqual({ kind: 'fax', customer_id: backend.demo.customers.yamada.id });
  });

  it('prefers the sender header over the subject', async () => {
    await sendFax('fax-header@gw.example', 'FAX from 03-1234-5678', { 'X-Fax-Sender': '+81 6-6123-4567' });
    const mail = await mailOf('fax-header@gw.example');
    expect(mail.customer_id).toBe(backend.demo.customers.sato.id);
    expect(mail.fax_sender).toBe('+81661234567');
  });

  it('gives an unknown number a new prospect with that number, and files its next fax there too', async () => {
    await sendFax('fax-new-1@gw.example', 'FAX from 045-111-2222');
    await sendFax('fax-new-2@gw.example', 'FAX from 045-111-2222', {}, faxTiff());
    const first = await mailOf('fax-new-1@gw.example');
    const second = await mailOf('fax-new-2@gw.example');
    expect(first.thread_match).toBe('new_customer');
    expect(second.customer_id).toBe(first.customer_id);
    expect(second.thread_match).toBe('sender');
    const phones = await backend.db.selectFrom('customer_phones').select('e164').where('customer_id', '=', first.customer_id).execute();
    expect(phones.map((p) => p.e164)).toEqual(['+81451112222']);
    const emails = await backend.db.selectFrom('customer_emails').select('email').where('customer_id', '=', first.customer_id).execute();
    expect(emails).toEqual([]);
  });

  it('files a fax without a sender number under a new customer, never under the gateway address', async () => {
    await sendFax('fax-anonymous@gw.example', 'Incoming fax');
    const mail = await mailOf('fax-anonymous@gw.example');
    expect(mail.customer_id).not.toBe(backend.demo.customers.acme.id);
    expect(mail.thread_match).toBe('new_customer');
    expect(mail.fax_sender).toBeNull();
  });

  it('shows the fax as known sender and refuses an e-mail reply to it', async () => {
    const mail = await mailOf('fax-subject@gw.example');
    const view = MailView.parse((await backend.call('GET', MAIL_API.mailByContact.replace(':contactId', mail.contact_id), backend.tokens.agent)).json());
    expect(view).toMatchObject({ kind: 'fax', faxSender: '+81312345678', senderKnown: true, senderCustomers: [] });
    const reply = await backend.call('PUT', MAIL_API.reply.replace(':id', randomUUID()), backend.tokens.agent, { mailId: mail.id, body: 'Thanks' });
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toMatchObject({ error: { code: 'invalid_input' } });
    expect(JSON.stringify(reply.json())).toMatch(/fax/);
    const replies = await backend.db.selectFrom('mail_replies').select('id').where('mail_id', '=', mail.id).execute();
    expect(replies).toEqual([]);
  });

  it('renders PDF and TIFF faxes to PNG pages for those who may see the customer, and audits it', async () => {
    for (const messageId of ['fax-subject@gw.example', 'fax-new-2@gw.example']) {
      const mail = await mailOf(messageId);
      const attachment = await backend.db.selectFrom('mail_attachments').select('id').where('mail_id', '=', mail.id).executeTakeFirstOrThrow();
      const response = await backend.call('GET', MAIL_API.faxPages.replace(':id', attachment.id), backend.tokens.agent);
      expect(response.statusCode, messageId).toBe(200);
      const pages = FaxPagesView.parse(response.json());
      expect(pages.pageCount).toBe(1);
      expect(Buffer.from(pages.pages[0]!.pngBase64, 'base64').subarray(0, 4)).toEqual(PNG_MAGIC);
      const audit = await backend.db
        .selectFrom('audit_events')
        .select(['customer_id', 'user_id'])
        .where('tenant_id', '=', tenantId())
        .where('action', '=', 'fax_viewed')
        .where('details', 'like', `%${attachment.id}%`)
        .execute();
      expect(audit).toEqual([{ customer_id: mail.customer_id, user_id: backend.demo.users.agent.id }]);
    }
    // Sato is Osaka's, classification 2: the agent (authority 3) may not see her fax.
    const sato = await mailOf('fax-header@gw.example');
    const satoAttachment = await backend.db.selectFrom('mail_attachments').select('id').where('mail_id', '=', sato.id).executeTakeFirstOrThrow();
    expect((await backend.call('GET', MAIL_API.faxPages.replace(':id', satoAttachment.id), backend.tokens.agent)).statusCode).toBe(404);
    expect((await backend.call('GET', MAIL_API.mailAttachment.replace(':id', satoAttachment.id), backend.tokens.agent)).statusCode).toBe(404);
  });

  it('audits attachment and raw downloads with the customer', async () => {
    const mail = await mailOf('fax-subject@gw.example');
    const attachment = await backend.db.selectFrom('mail_attachments').select('id').where('mail_id', '=', mail.id).executeTakeFirstOrThrow();
    expect((await backend.call('GET', MAIL_API.mailAttachment.replace(':id', attachment.id), backend.tokens.agent)).statusCode).toBe(200);
    expect((await backend.call('GET', MAIL_API.mailRaw.replace(':id', mail.id), backend.tokens.agent)).statusCode).toBe(200);
    const actions = await backend.db
      .selectFrom('audit_events')
      .select('action')
      .where('tenant_id', '=', tenantId())
      .where('customer_id', '=', mail.customer_id)
      .where('action', 'in', ['mail_attachment_downloaded', 'mail_raw_downloaded'])
      .execute();
    expect(actions.map((a) => a.action).sort()).toEqual(['mail_attachment_downloaded', 'mail_raw_downloaded']);
  });

  it('refuses fax pages of an attachment that is not a fax image, naming the problem', async () => {
    await backend.deliver({
      from: 'taro.yamada@example.jp',
      to: backend.mail.supportAddress,
      subject: 'notes',
      text: 'see attached',
      messageId: '<not-fax@example.jp>',
      attachments: [{ filename: 'notes.txt', content: Buffer.from('hello'), contentType: 'text/plain' }],
    });
    const mail = await mailOf('not-fax@example.jp');
    const attachment = await backend.db.selectFrom('mail_attachments').select('id').where('mail_id', '=', mail.id).executeTakeFirstOrThrow();
    const response = await backend.call('GET', MAIL_API.faxPages.replace(':id', attachment.id), backend.tokens.agent);
    expect(response.statusCode).toBe(400);
    expect(JSON.stringify(response.json())).toMatch(/not a PDF or TIFF/);
  });
});
