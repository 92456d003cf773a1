import type { Argon2Config } from '../config.js';
import { hashPassword } from '../auth/passwords.js';
import type { DatabaseHandle } from '../db/database.js';
import { savePage } from './content.js';
import { portalDb } from './schema.js';

/**
 * The demo's portal customer: the first generated customer of the demo tenant (by code) that
 * every demo operator may see (classification 3) and that has an e-mail address (for one-time
 * codes and order confirmations), with a portal password and rank 2. With the default seed that
 * is `DEMO_PORTAL_ACCOUNT.customerCode`, which `npm start` prints (seed-backend.test.ts checks it).
 */
export const DEMO_PORTAL_ACCOUNT = { customerCode: 'C0000001', password: 'portal-demo-2026', rank: 2 } as const;

const DEMO_PAGES = [
  { kind: 'product', slug: 'toushin-a', title: '投資信託 A', priceYen: 10_000, minRank: 1, bodyMarkdown: '国内外の債券に分散投資する、**安定運用**の投資信託です。\n\n- 毎月分配\n- 信託報酬 年0.5%\n\n[目論見書を読む](https://example.jp/prospectus/toushin-a)' },
  { kind: 'product', slug: 'gaika-yokin', title: '外貨預金プラン', priceYen: 50_000, minRank: 1, bodyMarkdown: '米ドル・ユーロ・豪ドルの外貨預金。為替手数料を**優遇**します。' },
  { kind: 'product', slug: 'private-banking', title: 'プライベートバンキング', priceYen: null, minRank: 4, bodyMarkdown: 'ランク4以上のお客さま専用のご案内です。' },
  { kind: 'page', slug: 'guide', title: 'ご利用ガイド', priceYen: null, minRank: 1, bodyMarkdown: '# ご利用ガイド\n\nご注文やお問い合わせの方法をご案内します。' },
  { kind: 'page', slug: 'seminar', title: '資産運用セミナーのご案内', priceYen: null, minRank: 2, bodyMarkdown: 'ランク2以上のお客さまをセミナーにご招待します。' },
] as const;

/** Returns the portal customer's code (null when the tenant has no customer that fits). */
export async function seedPortal(handle: DatabaseHandle, tenantId: string, argon2: Argon2Config, now: Date): Promise<string | null> {
  const db = portalDb(handle.db);
  const customer = await db
    .selectFrom('customers as c')
    .select(['c.id', 'c.code'])
    .where('c.tenant_id', '=', tenantId)
    .where('c.classification', '=', 3)
    .where((eb) => eb.exists(eb.selectFrom('customer_emails as e').select('e.email').whereRef('e.customer_id', '=', 'c.id')))
    .orderBy('c.code')
    .limit(1)
    .executeTakeFirst();
  if (!customer) return null;
  const nowIso = now.toISOString();
  await db
    .insertInto('portal_accounts')
    .values({
      customer_id: customer.id,
      tenant_id: tenantId,
      rank: DEMO_PORTAL_ACCOUNT.rank,
      password_hash: await hashPassword(DEMO_PORTAL_ACCOUNT.password, argon2),
      invitation_hash: null,
      invitation_expires_at: null,
      updated_at: nowIso,
    })
    .execute();
  for (const page of DEMO_PAGES) {
    await savePage(handle.db, tenantId, null, { ...page, imageIds: [], videoId: null, hotspots: [], onlyCustomerCodes: [], published: true });
  }
  return customer.code;
}
