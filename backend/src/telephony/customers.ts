import type { Kysely } from 'kysely';
import type { CountryCode } from 'libphonenumber-js';
import type { Classification, UserRights } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import { toE164 } from '../../../shared/phone.js';
import { findCustomerIdByPhone } from '../customers/records.js';
import type { Database } from '../db/schema.js';

/** The number as E.164 when it parses with the tenant's region, else null. */
export function normaliseNumber(raw: string, region: string): string | null {
  return toE164(raw, region as CountryCode);
}

export async function customerExists(db: Kysely<Database>, tenantId: string, customerId: string): Promise<boolean> {
  const row = await db.selectFrom('customers').select('id').where('tenant_id', '=', tenantId).where('id', '=', customerId).executeTakeFirst();
  return row !== undefined;
}

/** Whether the customer exists in the tenant and this user may see it: one answer for "no" either way. */
export async function customerVisibleTo(db: Kysely<Database>, user: UserRights, tenantId: string, customerId: string): Promise<boolean> {
  const row = await db
    .selectFrom('customers')
    .select(['classification', 'branch'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', customerId)
    .executeTakeFirst();
  return row !== undefined && maySeeCustomer(user, { classification: row.classification as Classification, branch: row.branch });
}

/**
 * The customer a caller is, for the PBX (which may see every customer of its tenant): an IVR
 * customer id of this tenant wins; else the number, and when several customers share it (a
 * company switchboard) the latest edited, as the app's screen pop decides.
 */
export async function matchCaller(
  db: Kysely<Database>,
  tenant: { id: string; defaultRegion: string },
  caller: { customerId?: string | null; number: string },
): Promise<string | null> {
  if (caller.customerId && (await customerExists(db, tenant.id, caller.customerId))) return caller.customerId;
  const e164 = normaliseNumber(caller.number, tenant.defaultRegion);
  if (e164 === null) return null;
  return findCustomerIdByPhone(db, tenant.id, e164);
}
