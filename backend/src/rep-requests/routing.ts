import type { Kysely } from 'kysely';
import { regionOfPostalCode, type JpRegion, type RoutedBy } from '../../../shared/rep-requests.js';
import type { Database } from '../db/schema.js';
import { routingSettingsRow } from './settings.js';
import { repRequestDb } from './schema.js';

export interface RepRoute {
  repId: string | null;
  routedBy: RoutedBy;
  region: JpRegion | null;
}

/**
 * Who gets a customer's request: the customer's assigned rep; else the rep whose coverage holds
 * the customer's region (from the postal code, shared/rep-requests.ts) and the product; else the
 * tenant's fallback user; else nobody (the request is still listed for users who see every
 * branch's calls). Disabled users are skipped at every step.
 */
export async function routeRepRequest(
  db: Kysely<Database>,
  tenantId: string,
  customer: { assignedRepId: string | null; postalCode: string },
  productId: string | null,
): Promise<RepRoute> {
  const rdb = repRequestDb(db);
  const active = async (userId: string | null) =>
    userId !== null &&
    (await rdb.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', '=', userId).where('disabled', '=', 0).executeTakeFirst()) !== undefined;
  const region = regionOfPostalCode(customer.postalCode);
  if (await active(customer.assignedRepId)) return { repId: customer.assignedRepId, routedBy: 'assigned_rep', region };
  if (region !== null && productId !== null) {
    const covering = await rdb
      .selectFrom('rep_coverage as v')
      .innerJoin('users as u', 'u.id', 'v.rep_id')
      .select('v.rep_id')
      .where('v.tenant_id', '=', tenantId)
      .where('v.region', '=', region)
      .where('v.product_id', '=', productId)
      .where('u.disabled', '=', 0)
      .executeTakeFirst();
    if (covering) return { repId: covering.rep_id, routedBy: 'coverage', region };
  }
  const { fallbackUserId } = await routingSettingsRow(db, tenantId);
  if (await active(fallbackUserId)) return { repId: fallbackUserId, routedBy: 'fallback', region };
  return { repId: null, routedBy: 'nobody', region };
}
