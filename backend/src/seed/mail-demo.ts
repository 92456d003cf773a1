import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { DatabaseHandle } from '../db/database.js';
import { loadMailConfig } from '../mail/config.js';
import { mailDb } from '../mail/schema.js';
import { faxPdf } from '../mail/fax-documents.js';
import { defaultMailAddresses } from '../mail/fixtures.js';
import { ingestInbound, parseInbound } from '../mail/inbound.js';
import { nationalDigits } from '../../../shared/phone.js';

function compose(options: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> {
  return new Promise((resolve, reject) => new MailComposer(options).compile().build((error, message) => (error ? reject(error) : resolve(message))));
}

/**
 * One e-mail with an attachment and one fax from a customer's fax number, delivered through
 * the real inbound path, so a fresh demo shows a mail and a fax contact in that customer's
 * incident tree. Both are closed as handled before the demo began, so they open from the tree
 * but are never offered in the mail queue ahead of the mail an operator (or a test) is waiting
 * for. The customer is the demo's first with both a landline and an e-mail address.
 */
export async function seedDemoMailAndFax(handle: DatabaseHandle, tenant: { id: string; slug: string }): Promise<void> {
  const { support, fax } = defaultMailAddresses(tenant.slug);
  const customer = await handle.db
    .selectFrom('customers as c')
    .innerJoin('customer_phones as p', 'p.customer_id', 'c.id')
    .innerJoin('customer_emails as e', 'e.customer_id', 'c.id')
    .select(['c.id', 'c.name', 'p.e164', 'e.email'])
    .where('c.tenant_id', '=', tenant.id)
    .where('c.classification', '=', 3)
    .where('p.kind', '=', 'landline')
    .orderBy('c.code')
    .limit(1)
    .executeTakeFirst();
  if (!customer) return;
  const config = loadMailConfig({});
  const deliver = async (raw: Buffer, recipient: { address: string; kind: 'support' | 'fax' }) => {
    const parsed = await parseInbound(raw, null);
    await ingestInbound(handle, null, config, { tenantId: tenant.id, recipients: [recipient], raw, parsed });
  };
  await deliver(
    await compose({
      from: { name: customer.name, address: customer.email },
      to: support,
      subject: '見積書の件 / About the quote',
      text: '見積書を確認しました。添付の注文書のとおりお願いします。\nWe checked the quote; please proceed as in the attached order.',
      html: '<p>見積書を確認しました。<b>添付の注文書</b>のとおりお願いします。</p><p>We checked the quote; please proceed as in the attached order.</p><img src="https://tracker.example/pixel.gif">',
      messageId: `<demo-mail-${tenant.slug}@example.jp>`,
      attachments: [{ filename: 'order.pdf', content: faxPdf(['ORDER', 'Item A x 3']), contentType: 'application/pdf' }],
    }),
    { address: support, kind: 'support' },
  );
  await deliver(
    await compose({
      from: 'gateway@fax.example',
      to: fax,
      subject: `FAX from ${nationalDigits(customer.e164)}`,
      text: '',
      messageId: `<demo-fax-${tenant.slug}@fax.example>`,
      attachments: [{ filename: 'fax.pdf', content: faxPdf(['ORDER FORM (FAX)', 'Item B x 5', `From: ${customer.e164}`]), contentType: 'application/pdf' }],
    }),
    { address: fax, kind: 'fax' },
  );
  // Stored without angle brackets (schema.ts).
  const messageIds = [`demo-mail-${tenant.slug}@example.jp`, `demo-fax-${tenant.slug}@fax.example`];
  await mailDb(handle.db)
    .updateTable('mail_messages')
    .set({ queue_state: 'closed', close_note: 'Handled before the demo began', handled_at: new Date().toISOString() })
    .where('tenant_id', '=', tenant.id)
    .where('message_id', 'in', messageIds)
    .where('queue_state', '=', 'waiting')
    .execute();
}
