import type { Kysely } from 'kysely';
import type { User } from '../../../shared/domain.js';
import { JP_REGIONS, REP_MAIL_PLACEHOLDERS, type RepRoutingInput, type RepRoutingSettings } from '../../../shared/rep-requests.js';
import { recordAudit } from '../audit.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { repRequestDb } from './schema.js';

/** What a tenant that never saved its settings gets as the rep's e-mail. */
export const DEFAULT_REP_MAIL = {
  subject: '【お客さまからのご依頼】{{customerName}} 様（{{customerCode}}）: {{request}}',
  body: [
    '{{repName}} さん',
    '',
    'お客さまポータルから、次のご依頼が届きました。アプリの「あなた宛ての電話」に表示されています。',
    '',
    'お客さま: {{customerName}} 様（{{customerCode}}）',
    'ご依頼: {{request}}',
    '商品: {{product}}',
    'ご希望の連絡方法: {{preferredMethod}}　ご希望の時間帯: {{preferredTime}}',
    'ご希望の対応: {{requestedAction}}',
    '住所: {{address}}',
    '',
    '{{message}}',
  ].join('\n'),
};

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

export function renderRepMail(text: string, values: Record<(typeof REP_MAIL_PLACEHOLDERS)[number], string>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => ((REP_MAIL_PLACEHOLDERS as readonly string[]).includes(name) ? values[name as keyof typeof values] : whole));
}

export async function routingSettingsRow(db: Kysely<Database>, tenantId: string) {
  const row = await repRequestDb(db).selectFrom('rep_routing_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  return {
    fallbackUserId: row?.fallback_user_id ?? null,
    infoManagerEmail: row?.info_manager_email ?? null,
    mailSubject: row?.mail_subject ?? DEFAULT_REP_MAIL.subject,
    mailBody: row?.mail_body ?? DEFAULT_REP_MAIL.body,
    updatedAt: row?.updated_at ?? null,
  };
}

/** GET /api/rep-routing (admins): the coverage table, settings, and what the screen chooses from. */
export async function readRepRouting(db: Kysely<Database>, user: User): Promise<RepRoutingSettings> {
  if (user.role !== 'admin') throw new HttpError('forbidden', 'only admins see and edit the rep routing settings');
  const rdb = repRequestDb(db);
  const settings = await routingSettingsRow(db, user.tenantId);
  const coverage = await rdb.selectFrom('rep_coverage').select(['region', 'product_id', 'rep_id']).where('tenant_id', '=', user.tenantId).orderBy('region').orderBy('product_id').execute();
  const products = await rdb.selectFrom('portal_pages').select(['id', 'title']).where('tenant_id', '=', user.tenantId).where('kind', '=', 'product').orderBy('title').execute();
  const users = await rdb
    .selectFrom('users')
    .select(['id', 'display_name', 'branch'])
    .where('tenant_id', '=', user.tenantId)
    .where('disabled', '=', 0)
    .where('role', '!=', 'partner')
    .orderBy('display_name')
    .execute();
  const emails = await rdb.selectFrom('rep_mail_addresses').select(['user_id', 'email']).where('tenant_id', '=', user.tenantId).orderBy('user_id').execute();
  return {
    coverage: coverage.map((row) => ({ region: row.region as RepRoutingSettings['regions'][number], productId: row.product_id, repId: row.rep_id })),
    fallbackUserId: settings.fallbackUserId,
    infoManagerEmail: settings.infoManagerEmail,
    mailSubject: settings.mailSubject,
    mailBody: settings.mailBody,
    repEmails: emails.map((row) => ({ userId: row.user_id, email: row.email })),
    regions: [...JP_REGIONS],
    products,
    users: users.map((row) => ({ id: row.id, name: row.display_name, branch: row.branch })),
    placeholders: [...REP_MAIL_PLACEHOLDERS],
    updatedAt: settings.updatedAt,
  };
}

function assertKnownPlaceholders(text: string, field: string): void {
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!(REP_MAIL_PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new HttpError('invalid_input', `${field}: unknown placeholder {{${name}}}; use ${REP_MAIL_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`);
    }
  }
}

/**
 * PUT /api/rep-routing (admins): replaces the coverage table, the rep addresses and the settings
 * in one transaction. Every product and user named must be the tenant's (a product of another
 * tenant or a disabled user is refused, naming the row), and a region × product is covered once.
 */
export async function saveRepRouting(handle: DatabaseHandle, user: User, input: RepRoutingInput): Promise<RepRoutingSettings> {
  if (user.role !== 'admin') throw new HttpError('forbidden', 'only admins see and edit the rep routing settings');
  assertKnownPlaceholders(input.mailSubject, 'body.mailSubject');
  assertKnownPlaceholders(input.mailBody, 'body.mailBody');
  const rdb = repRequestDb(handle.db);
  const productIds = new Set(
    (await rdb.selectFrom('portal_pages').select('id').where('tenant_id', '=', user.tenantId).where('kind', '=', 'product').execute()).map((row) => row.id),
  );
  const userIds = new Set(
    (await rdb.selectFrom('users').select('id').where('tenant_id', '=', user.tenantId).where('disabled', '=', 0).where('role', '!=', 'partner').execute()).map((row) => row.id),
  );
  const seen = new Set<string>();
  input.coverage.forEach((row, index) => {
    if (!productIds.has(row.productId)) throw new HttpError('invalid_input', `body.coverage[${index}].productId: no such product`);
    if (!userIds.has(row.repId)) throw new HttpError('invalid_input', `body.coverage[${index}].repId: no such active user`);
    const cell = `${row.region}\u0000${row.productId}`;
    if (seen.has(cell)) throw new HttpError('invalid_input', `body.coverage[${index}]: ${row.region} × this product is covered twice`);
    seen.add(cell);
  });
  if (input.fallbackUserId !== null && !userIds.has(input.fallbackUserId)) throw new HttpError('invalid_input', 'body.fallbackUserId: no such active user');
  const mailed = new Set<string>();
  input.repEmails.forEach((row, index) => {
    if (!userIds.has(row.userId)) throw new HttpError('invalid_input', `body.repEmails[${index}].userId: no such active user`);
    if (mailed.has(row.userId)) throw new HttpError('invalid_input', `body.repEmails[${index}].userId: listed twice`);
    mailed.add(row.userId);
  });

  const now = new Date().toISOString();
  await handle.db.transaction().execute(async (trx) => {
    const t = repRequestDb(trx);
    await t.deleteFrom('rep_coverage').where('tenant_id', '=', user.tenantId).execute();
    if (input.coverage.length > 0) {
      await t
        .insertInto('rep_coverage')
        .values(input.coverage.map((row) => ({ tenant_id: user.tenantId, region: row.region, product_id: row.productId, rep_id: row.repId })))
        .execute();
    }
    await t.deleteFrom('rep_mail_addresses').where('tenant_id', '=', user.tenantId).execute();
    if (input.repEmails.length > 0) {
      await t.insertInto('rep_mail_addresses').values(input.repEmails.map((row) => ({ user_id: row.userId, tenant_id: user.tenantId, email: row.email }))).execute();
    }
    const values = {
      fallback_user_id: input.fallbackUserId,
      info_manager_email: input.infoManagerEmail,
      mail_subject: input.mailSubject,
      mail_body: input.mailBody,
      updated_by: user.id,
      updated_at: now,
    };
    await t
      .insertInto('rep_routing_settings')
      .values({ tenant_id: user.tenantId, ...values })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
      .execute();
    await recordAudit(trx, {
      tenantId: user.tenantId,
      userId: user.id,
      action: 'rep_routing_changed',
      details: { coverageRows: input.coverage.length, fallbackUserId: input.fallbackUserId, repEmails: input.repEmails.length },
    });
  });
  return readRepRouting(handle.db, user);
}
