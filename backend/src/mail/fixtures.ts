import { randomUUID } from 'node:crypto';
import type { DatabaseHandle } from '../db/database.js';
import { mailDb, type MailAddressKind } from './schema.js';

export interface MailFixtures {
  supportAddress: string;
  faxAddress: string;
  templateIds: string[];
}

/** The default addresses of a tenant on loopback: `support@<slug>.tsunagu.localhost` and `fax@…`. */
export function defaultMailAddresses(slug: string): Record<MailAddressKind, string> {
  const domain = `${slug}.tsunagu.localhost`;
  return { support: `support@${domain}`, fax: `fax@${domain}` };
}

const TEMPLATES = [
  {
    name: 'お問い合わせへの回答',
    subject: '',
    body: [
      '{{customerName}} 様',
      '',
      'いつもお世話になっております。',
      'お問い合わせ（{{incidentRef}}）について、下記のとおりご回答いたします。',
      '',
      '',
      '',
      'ご不明な点がございましたら、このメールにそのままご返信ください。',
      '',
      '{{operatorName}}',
    ].join('\n'),
  },
  {
    name: 'Reply (English)',
    subject: '',
    body: [
      'Dear {{customerName}},',
      '',
      'Thank you for contacting us about {{incidentRef}}.',
      '',
      '',
      '',
      'If anything is unclear, simply reply to this e-mail.',
      '',
      'Kind regards,',
      '{{operatorName}}',
    ].join('\n'),
  },
];

/**
 * Gives a tenant its support and fax addresses and two reply templates, for the demo seed and
 * tests. Addresses already taken are left as they are.
 */
export async function seedMailFixtures(handle: DatabaseHandle, tenant: { id: string; slug: string }): Promise<MailFixtures> {
  const db = mailDb(handle.db);
  const now = new Date().toISOString();
  const addresses = defaultMailAddresses(tenant.slug);
  await db
    .insertInto('mail_addresses')
    .values([
      { address: addresses.support, tenant_id: tenant.id, kind: 'support', created_at: now },
      { address: addresses.fax, tenant_id: tenant.id, kind: 'fax', created_at: now },
    ])
    .onConflict((oc) => oc.column('address').doNothing())
    .execute();
  for (const template of TEMPLATES) {
    await db
      .insertInto('mail_templates')
      .values({ id: randomUUID(), tenant_id: tenant.id, ...template, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing())
      .execute();
  }
  const rows = await db
    .selectFrom('mail_templates')
    .select(['id', 'name'])
    .where('tenant_id', '=', tenant.id)
    .where('name', 'in', TEMPLATES.map((t) => t.name))
    .execute();
  const templateIds = TEMPLATES.map((t) => rows.find((row) => row.name === t.name)?.id ?? '').filter((id) => id !== '');
  return { supportAddress: addresses.support, faxAddress: addresses.fax, templateIds };
}
