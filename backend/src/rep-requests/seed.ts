import type { Argon2Config } from '../config.js';
import { hashPassword } from '../auth/passwords.js';
import { updateCustomer } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import { writeTransaction } from '../sync/changelog.js';
import { JP_REGIONS, regionOfPostalCode } from '../../../shared/rep-requests.js';
import { DEFAULT_REP_MAIL } from './settings.js';
import { repRequestDb } from './schema.js';

/**
 * "Contact my rep" on the demo: the coverage table (every region × 投資信託 A → agent2, who sees
 * every class-3 customer; 外貨預金プラン in Kanto → rep-shibuya), super1 as the fallback, the
 * manager's and the reps' addresses, and a second portal customer without an assigned rep (same
 * password as the first), so a request from them is routed by region and product.
 */
export const DEMO_REP_ROUTING = {
  coveredProductSlug: 'toushin-a',
  coveringRepLogin: 'agent2',
  fallbackLogin: 'super1',
  infoManagerEmail: 'customer-info@demo.example.jp',
  /** Each rep's task e-mails go to `${login}@demo.example.jp`. */
  repEmailDomain: 'demo.example.jp',
} as const;

export async function seedRepRouting(
  handle: DatabaseHandle,
  tenantId: string,
  argon2: Argon2Config,
  portal: { customerCode: string | null; password: string; rank: number },
  now: Date,
): Promise<string | null> {
  const db = repRequestDb(handle.db);
  const users = new Map((await db.selectFrom('users').select(['id', 'login']).where('tenant_id', '=', tenantId).execute()).map((row) => [row.login, row.id]));
  const products = new Map(
    (await db.selectFrom('portal_pages').select(['id', 'slug']).where('tenant_id', '=', tenantId).where('kind', '=', 'product').execute()).map((row) => [row.slug, row.id]),
  );
  const covering = users.get(DEMO_REP_ROUTING.coveringRepLogin);
  const shibuya = users.get('rep-shibuya');
  const fund = products.get(DEMO_REP_ROUTING.coveredProductSlug);
  const deposit = products.get('gaika-yokin');
  const admin = users.get('admin');
  if (!covering || !fund || !admin) return null;
  const coverage = JP_REGIONS.map((region) => ({ tenant_id: tenantId, region, product_id: fund, rep_id: covering }));
  if (shibuya && deposit) coverage.push({ tenant_id: tenantId, region: 'kanto', product_id: deposit, rep_id: shibuya });
  await db.insertInto('rep_coverage').values(coverage).execute();
  await db
    .insertInto('rep_routing_settings')
    .values({
      tenant_id: tenantId,
      fallback_user_id: users.get(DEMO_REP_ROUTING.fallbackLogin) ?? null,
      info_manager_email: DEMO_REP_ROUTING.infoManagerEmail,
      mail_subject: DEFAULT_REP_MAIL.subject,
      mail_body: DEFAULT_REP_MAIL.body,
      updated_by: admin,
      updated_at: now.toISOString(),
    })
    .execute();
  const mailed = ['agent1', 'agent2', 'super1', 'rep-shibuya'].flatMap((login) => {
    const id = users.get(login);
    return id ? [{ user_id: id, tenant_id: tenantId, email: `${login}@${DEMO_REP_ROUTING.repEmailDomain}` }] : [];
  });
  if (mailed.length > 0) await db.insertInto('rep_mail_addresses').values(mailed).execute();

  // The second portal customer: the next class-3 customer with an e-mail and a JP postal code.
  const candidates = await db
    .selectFrom('customers as c')
    .select(['c.id', 'c.code', 'c.postal_code', 'c.assigned_rep_id'])
    .where('c.tenant_id', '=', tenantId)
    .where('c.classification', '=', 3)
    .where('c.code', '!=', portal.customerCode ?? '')
    .where((eb) => eb.exists(eb.selectFrom('customer_emails as e').select('e.email').whereRef('e.customer_id', '=', 'c.id')))
    .where((eb) => eb.not(eb.exists(eb.selectFrom('portal_accounts as a').select('a.customer_id').whereRef('a.customer_id', '=', 'c.id'))))
    .orderBy('c.code')
    .limit(50)
    .execute();
  const second = candidates.find((row) => regionOfPostalCode(row.postal_code) !== null);
  if (!second) return null;
  if (second.assigned_rep_id !== null) {
    await writeTransaction(handle, (tx) => updateCustomer(tx, tenantId, second.id, { assignedRepId: null }));
  }
  await db
    .insertInto('portal_accounts')
    .values({
      customer_id: second.id,
      tenant_id: tenantId,
      rank: portal.rank,
      password_hash: await hashPassword(portal.password, argon2),
      invitation_hash: null,
      invitation_expires_at: null,
      updated_at: now.toISOString(),
    })
    .execute();
  return second.code;
}
