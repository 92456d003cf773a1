import { sql, type Kysely } from 'kysely';
import { isExtension, tenantSipUser } from '../../../../shared/sip-identity.js';
import type { SqlDialect } from '../database.js';

// SIP users become unique across the PBX (all tenants), see shared/sip-identity.ts. Before,
// a user without `sip_user` registered as their login, so demo/agent1 and other/agent1 were
// the same phone. Every user whose SIP user was their login (explicitly or by that fallback)
// gets the tenant-qualified one; an admin-assigned extension stays when no other user of any
// tenant has it (a desk phone is configured with it), otherwise it is replaced too. A user
// whose new SIP user would still collide (logins that differ only in case) gets none: the app
// then says an admin must assign one, which is better than two people sharing a phone.
// Important: append-only like every migration; change the schema in a new numbered file.

interface UserRow {
  id: string;
  login: string;
  sip_user: string | null;
  slug: string;
}

/** The new SIP user of each row (null: none), in the order given. Exported for its test. */
export function planSipUsers(rows: readonly UserRow[]): Map<string, string | null> {
  const extensionHolders = new Map<string, number>();
  const keepsExtension = (row: UserRow) => row.sip_user !== null && row.sip_user !== row.login && isExtension(row.sip_user);
  for (const row of rows) {
    if (keepsExtension(row)) {
      const key = row.sip_user!.toLowerCase();
      extensionHolders.set(key, (extensionHolders.get(key) ?? 0) + 1);
    }
  }
  const planned = new Map<string, string | null>();
  const taken = new Set<string>();
  for (const row of rows) {
    const extension = keepsExtension(row) && extensionHolders.get(row.sip_user!.toLowerCase()) === 1 ? row.sip_user! : null;
    const candidate = extension ?? tenantSipUser(row.login, row.slug);
    const key = candidate?.toLowerCase();
    if (candidate === null || key === undefined || taken.has(key)) {
      planned.set(row.id, null);
    } else {
      taken.add(key);
      planned.set(row.id, candidate);
    }
  }
  return planned;
}

export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  const rows = await sql<UserRow>`
    select u.id, u.login, u.sip_user, t.slug
      from users u join tenants t on t.id = u.tenant_id
     order by u.created_at, u.id`.execute(db);
  const plan = planSipUsers(rows.rows);
  for (const row of rows.rows) {
    const sipUser = plan.get(row.id) ?? null;
    if (row.sip_user !== sipUser) await sql`update users set sip_user = ${sipUser} where id = ${row.id}`.execute(db);
  }
  // Case-insensitive, because PBXs differ on whether SIP user parts are; NULL (no phone) repeats.
  await sql`create unique index users_sip_user_unique on users (lower(sip_user))`.execute(db);
}
