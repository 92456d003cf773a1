import MailComposer from 'nodemailer/lib/mail-composer';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { MailConfig } from '../mail/config.js';
import { openRelaySession } from '../mail/relay-connection.js';
import { mailDb } from '../mail/schema.js';

/**
 * A notice to a customer (a sign-in code, an order confirmation) through the configured relay,
 * from the tenant's support address. Unlike operators' replies these are not reviewed: the
 * text is fixed by the portal and holds nothing the customer did not type or ask for.
 */
export async function sendPortalNotice(
  db: Kysely<Database>,
  config: MailConfig,
  tenantId: string,
  message: { to: string; subject: string; text: string },
): Promise<void> {
  const tenant = await db.selectFrom('tenants').select(['name', 'slug']).where('id', '=', tenantId).executeTakeFirstOrThrow();
  const own = await mailDb(db)
    .selectFrom('mail_addresses')
    .select('address')
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', 'support')
    .orderBy('address')
    .executeTakeFirst();
  const from = own?.address ?? `no-reply@${tenant.slug}.invalid`;
  const composed = await new MailComposer({
    from: { name: tenant.name, address: from },
    to: message.to,
    subject: message.subject,
    text: message.text,
    date: new Date(),
    headers: { 'Auto-Submitted': 'auto-generated' },
  })
    .compile()
    .build();
  const session = await openRelaySession(config, config.sender.sendTimeoutSeconds * 1000);
  try {
    await session.send({ from, to: [message.to] }, composed);
  } finally {
    session.close();
  }
}
