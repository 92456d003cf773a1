import type { Kysely } from 'kysely';
import type { BranchCall, CallHandlingKind } from '../../../shared/calls-for-you.js';
import type { Classification } from '../../../shared/domain.js';
import { JpRegion, PreferredMethod, RequestedAction, repRequestKey, type RepRequestDetails } from '../../../shared/rep-requests.js';
import type { Database } from '../db/schema.js';
import { repRequestDb } from './schema.js';

/** The JSON of `rep_requests.details`: what the customer wrote, as stored. */
export interface StoredRequestDetails {
  message: string;
  preferredMethod: string | null;
  preferredTime: string;
  requestedAction: string | null;
  address: RepRequestDetails['address'];
}

export interface HandledMark {
  at: string;
  by: string;
  byName: string;
  kind: CallHandlingKind;
  contactId: string;
}

function parseDetails(json: string): StoredRequestDetails {
  const value = JSON.parse(json) as Partial<StoredRequestDetails>;
  return {
    message: value.message ?? '',
    preferredMethod: value.preferredMethod ?? null,
    preferredTime: value.preferredTime ?? '',
    requestedAction: value.requestedAction ?? null,
    address: value.address ?? null,
  };
}

/**
 * Portal requests as entries of "calls for you" (key `req:<id>`): the customer, the rep it was
 * routed to (as whose "phone rang", so the shared `callInScope` lists it for that rep like a call
 * to them), the product and the customer's words. Called by branch-calls/load.ts with the
 * handling marks it read for the same keys, so calls and requests load, list and sync as one.
 */
export async function loadRepRequestCalls(
  kysely: Kysely<Database>,
  tenantId: string,
  ids: readonly string[],
  handled: ReadonlyMap<string, HandledMark>,
): Promise<Map<string, BranchCall>> {
  const out = new Map<string, BranchCall>();
  if (ids.length === 0) return out;
  const db = repRequestDb(kysely);
  const rows = await db
    .selectFrom('rep_requests as r')
    .innerJoin('customers as c', (join) => join.onRef('c.id', '=', 'r.customer_id').onRef('c.tenant_id', '=', 'r.tenant_id'))
    .leftJoin('users as rep', 'rep.id', 'r.routed_to')
    .leftJoin('users as assigned', 'assigned.id', 'c.assigned_rep_id')
    .leftJoin('portal_pages as p', 'p.id', 'r.product_id')
    .select([
      'r.id',
      'r.kind',
      'r.details',
      'r.routed_to',
      'r.routed_by',
      'r.region',
      'r.created_at',
      'rep.display_name as rep_name',
      'rep.branch as rep_branch',
      'c.id as customer_id',
      'c.code',
      'c.name',
      'c.branch',
      'c.classification',
      'c.assigned_rep_id',
      'assigned.display_name as assigned_name',
      'p.id as product_id',
      'p.title as product_title',
      'p.slug as product_slug',
      'p.price_yen',
    ])
    .where('r.tenant_id', '=', tenantId)
    .where('r.id', 'in', [...new Set(ids)])
    .execute();
  const customerIds = [...new Set(rows.map((row) => row.customer_id))];
  const phones = new Map<string, string>();
  const emails = new Map<string, string>();
  if (customerIds.length > 0) {
    for (const row of await db.selectFrom('customer_phones').select(['customer_id', 'e164']).where('customer_id', 'in', customerIds).orderBy('position', 'desc').execute()) {
      phones.set(row.customer_id, row.e164);
    }
    for (const row of await db.selectFrom('customer_emails').select(['customer_id', 'email']).where('customer_id', 'in', customerIds).orderBy('position', 'desc').execute()) {
      emails.set(row.customer_id, row.email);
    }
  }
  for (const row of rows) {
    const key = repRequestKey(row.id);
    const details = parseDetails(row.details);
    const done = handled.get(key) ?? null;
    const region = JpRegion.safeParse(row.region);
    const method = PreferredMethod.safeParse(details.preferredMethod);
    const action = RequestedAction.safeParse(details.requestedAction);
    out.set(key, {
      key,
      startedAt: new Date(row.created_at).toISOString(),
      outcome: 'request',
      remote: phones.get(row.customer_id) ?? '',
      customer: {
        id: row.customer_id,
        code: row.code,
        name: row.name,
        branch: row.branch,
        classification: row.classification as Classification,
        assignedRep: row.assigned_rep_id ? { id: row.assigned_rep_id, name: row.assigned_name ?? '' } : null,
      },
      answeredBy: null,
      receivedBy: row.routed_to ? [{ id: row.routed_to, name: row.rep_name ?? '', branch: row.rep_branch ?? null }] : [],
      handled: done ? { at: done.at, by: { id: done.by, name: done.byName }, kind: done.kind, contactId: done.contactId } : null,
      request: {
        id: row.id,
        kind: row.kind,
        routedBy: row.routed_by,
        region: region.success ? region.data : null,
        product: row.product_id ? { id: row.product_id, title: row.product_title ?? '', slug: row.product_slug ?? '', priceYen: row.price_yen ?? null } : null,
        message: details.message,
        preferredMethod: method.success ? method.data : null,
        preferredTime: details.preferredTime,
        requestedAction: action.success ? action.data : null,
        address: details.address,
        customerPhone: phones.get(row.customer_id) ?? null,
        customerEmail: emails.get(row.customer_id) ?? null,
      },
    });
  }
  return out;
}

/** The keys of these customers' requests made at or after `since` (their visibility follows the customer's). */
export async function repRequestKeysOfCustomers(
  kysely: Kysely<Database>,
  tenantId: string,
  customerIds: readonly string[],
  since: string,
): Promise<{ key: string; customerId: string }[]> {
  if (customerIds.length === 0) return [];
  const rows = await repRequestDb(kysely)
    .selectFrom('rep_requests')
    .select(['id', 'customer_id'])
    .where('tenant_id', '=', tenantId)
    .where('customer_id', 'in', [...new Set(customerIds)])
    .where('created_at', '>=', since)
    .execute();
  return rows.map((row) => ({ key: repRequestKey(row.id), customerId: row.customer_id }));
}
