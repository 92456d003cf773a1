import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_API, MailView } from '../../../shared/api.js';
import { DIALECTS } from '../testing/harness.js';
import { startMailBackend, type MailTestBackend } from './test-support/mail-backend.js';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

/** Issue 7 item 12, through a real SMTP conversation: names and HTML as stored and served. */
describe.each(DIALECTS)('inbound mail content on %s', (dialect) => {
  let backend: MailTestBackend;
  beforeAll(async () => {
    backend = await startMailBackend(dialect);
  });
  afterAll(() => backend?.dispose());

  const stored = async (messageId: string) =>
    backend.db.selectFrom('mail_messages').selectAll().where('tenant_id', '=', backend.demo.tenant.id).where('message_id', '=', messageId).executeTakeFirstOrThrow();

  it('stores, shows and serves attachment names without path parts, NUL or bidi controls', async () => {
    const messageId = `${randomUUID()}@example.org`;
    await backend.deliver({
      from: 'files@example.org',
      to: backend.mail.supportAddress,
      subject: 'Names',
      text: 'See attached.',
      messageId: `<${messageId}>`,
      attachments: [
        { filename: '../../etc/report.pdf', content: PDF, contentType: 'application/pdf' },
        { filename: 'C:\\Users\\x\\..\\請求書.pdf', content: PDF, contentType: 'application/pdf' },
        { filename: 'invoice\u202efdp.exe', content: PDF, contentType: 'application/pdf' },
        { filename: 'a\u0000b.pdf', content: PDF, contentType: 'application/pdf' },
      ],
    });
    const mail = await stored(messageId);
    const rows = await backend.db.selectFrom('mail_attachments').select(['filename', 'rejected_reason']).where('mail_id', '=', mail.id).orderBy('position').execute();
    expect(rows).toEqual([
      { filename: 'report.pdf', rejected_reason: null },
      { filename: '請求書.pdf', rejected_reason: null },
      // The bidi override is gone, so the name reads as what it is, and what it is gets refused.
      { filename: 'invoicefdp.exe', rejected_reason: 'type_not_allowed' },
      { filename: expect.stringMatching(/^(ab|b)\.pdf$/), rejected_reason: null },
    ]);
    const view = MailView.parse((await backend.call('GET', MAIL_API.mailMessage.replace(':id', mail.id), backend.tokens.agent)).json());
    const download = await backend.call('GET', MAIL_API.mailAttachment.replace(':id', view.attachments[1]!.id), backend.tokens.agent);
    expect(download.headers['content-disposition']).toBe(`attachment; filename="___.pdf"; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf`);
  });

  it('serves a name stored before neutralising safely too', async () => {
    const messageId = `${randomUUID()}@example.org`;
    await backend.deliver({
      from: 'files@example.org',
      to: backend.mail.supportAddress,
      subject: 'Old row',
      text: 'x',
      messageId: `<${messageId}>`,
      attachments: [{ filename: 'old.pdf', content: PDF, contentType: 'application/pdf' }],
    });
    const mail = await stored(messageId);
    await backend.db.updateTable('mail_attachments').set({ filename: '..\\..\\evil\u202egnp.pdf' }).where('mail_id', '=', mail.id).execute();
    const [attachment] = await backend.db.selectFrom('mail_attachments').select('id').where('mail_id', '=', mail.id).execute();
    const download = await backend.call('GET', MAIL_API.mailAttachment.replace(':id', attachment!.id), backend.tokens.agent);
    expect(download.headers['content-disposition']).toBe(`attachment; filename="evilgnp.pdf"; filename*=UTF-8''evilgnp.pdf`);
  });

  it('stores HTML with CSS escapes decoded and judged, and keeps the text of shapes that used to cut the mail short', async () => {
    const messageId = `${randomUUID()}@example.org`;
    const tail = 'Third block: please call us back before Friday about account 1234567. '.repeat(6);
    await backend.deliver({
      from: 'html@example.org',
      to: backend.mail.supportAddress,
      subject: 'Shapes',
      text: 'plain',
      html: `<p style="background: u\\72l(https://tracker.example/p.gif); color: red">First</p><p>Second</p><plaintext><p>${tail}</p>`,
      messageId: `<${messageId}>`,
    });
    const mail = await stored(messageId);
    expect(mail.html_sanitized).not.toContain('tracker.example');
    expect(mail.html_sanitized).toContain('color: red');
    expect(mail.html_sanitized).toContain(tail.trim());
    expect(mail.html_lost_text).toBe(0);
    const view = MailView.parse((await backend.call('GET', MAIL_API.mailMessage.replace(':id', mail.id), backend.tokens.agent)).json());
    expect(view.htmlLostText).toBe(false);
  });
});
