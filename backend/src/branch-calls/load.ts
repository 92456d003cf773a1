import type { Kysely } from 'kysely';
import type { BranchCall } from '../../../shared/calls-for-you.js';
import type { Classification } from '../../../shared/domain.js';
import type { Database } from '../db/schema.js';
import type { WriteTx } from '../sync/changelog.js';
import { repRequestIdOfKey } from '../../../shared/rep-requests.js';
import { loadRepRequestCalls, repRequestKeysOfCustomers, type HandledMark } from '../rep-requests/load.js';
import { branchCallsDb } from './schema.js';

const KEY_CHUNK = 500;

interface Leg {
  id: string;
  key: string;
  agent_id: string | null;
  customer_id: string | null;
  from_number: string;
  started_at: string;
  answered_at: string | null;
  status: 'ringing' | 'connected' | 'ended';
}

export function chunks<T>(items: readonly T[], size: number = KEY_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Inbound calls by key, whole: every leg of a call (the PBX may ring several phones) makes one
 * call, answered if anybody answered, with who did and whose phones rang, its customer and its
 * handling. Nothing is filtered by rights here: callers filter with the shared `callInScope`.
 * Used by the list (GET /api/branch-calls), the sync feed and the snapshot, so the three agree.
 */
export async function loadBranchCalls(kysely: Kysely<Database>, tenantId: string, keys: readonly string[]): Promise<Map<string, BranchCall>> {
  const db = branchCallsDb(kysely);
  const legs: Leg[] = [];
  const handled = new Map<string, HandledMark>();
  for (const part of chunks([...new Set(keys)])) {
    const rows = await db
      .selectFrom('calls')
      .select(['id', 'agent_id', 'customer_id', 'from_number', 'started_at', 'answered_at', 'status'])
      .select((eb) => eb.fn.coalesce('external_id', 'id').as('key'))
      .where('tenant_id', '=', tenantId)
      .where('direction', '=', 'inbound')
      .where((eb) => eb.or([eb('external_id', 'in', part), eb.and([eb('external_id', 'is', null), eb('id', 'in', part)])]))
      .execute();
    legs.push(...rows);
    const done = await db
      .selectFrom('call_handling as h')
      .innerJoin('users as u', 'u.id', 'h.handled_by')
      .select(['h.call_key', 'h.handled_at', 'h.handled_by', 'u.display_name', 'h.kind', 'h.contact_id'])
      .where('h.tenant_id', '=', tenantId)
      .where('h.call_key', 'in', part)
      .execute();
    for (const row of done) {
      handled.set(row.call_key, { at: row.handled_at, by: row.handled_by, byName: row.display_name, kind: row.kind, contactId: row.contact_id });
    }
  }

  const customerIds = [...new Set(legs.flatMap((leg) => (leg.customer_id ? [leg.customer_id] : [])))];
  const customers = new Map<string, { id: string; code: string; name: string; branch: string | null; classification: Classification; assignedRepId: string | null }>();
  for (const part of chunks(customerIds)) {
    const rows = await db
      .selectFrom('customers')
      .select(['id', 'code', 'name', 'branch', 'classification', 'assigned_rep_id'])
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', part)
      .execute();
    for (const row of rows) {
      customers.set(row.id, { id: row.id, code: row.code, name: row.name, branch: row.branch, classification: row.classification as Classification, assignedRepId: row.assigned_rep_id });
    }
  }
  const userIds = [...new Set([...legs.flatMap((leg) => (leg.agent_id ? [leg.agent_id] : [])), ...[...customers.values()].flatMap((c) => (c.assignedRepId ? [c.assignedRepId] : []))])];
  const users = new Map<string, { name: string; branch: string | null }>();
  for (const part of chunks(userIds)) {
    const rows = await db.selectFrom('users').select(['id', 'display_name', 'branch']).where('tenant_id', '=', tenantId).where('id', 'in', part).execute();
    for (const row of rows) users.set(row.id, { name: row.display_name, branch: row.branch });
  }
  const person = (id: string) => ({ id, name: users.get(id)?.name ?? '' });

  const byKey = new Map<string, Leg[]>();
  for (const leg of legs) byKey.set(leg.key, [...(byKey.get(leg.key) ?? []), leg]);

  const calls = new Map<string, BranchCall>();
  for (const [key, group] of byKey) {
    const customerId = group.find((leg) => leg.customer_id !== null)?.customer_id ?? null;
    const customer = customerId === null ? null : customers.get(customerId);
    // A call whose customer is gone is left out rather than shown as an unknown caller's.
    if (customer === undefined) continue;
    const startedAt = group.reduce((min, leg) => (leg.started_at < min ? leg.started_at : min), group[0]!.started_at);
    const done = handled.get(key) ?? null;
    const answered = group.find((leg) => leg.answered_at !== null);
    const ringing = group.some((leg) => leg.status === 'ringing');
    const agents = [...new Set(group.flatMap((leg) => (leg.agent_id ? [leg.agent_id] : [])))];
    calls.set(key, {
      key,
      startedAt: new Date(startedAt).toISOString(),
      outcome: answered ? 'answered' : ringing ? 'ringing' : 'missed',
      remote: group[0]!.from_number,
      customer: customer
        ? {
            id: customer.id,
            code: customer.code,
            name: customer.name,
            branch: customer.branch,
            classification: customer.classification,
            assignedRep: customer.assignedRepId ? person(customer.assignedRepId) : null,
          }
        : null,
      answeredBy: answered?.agent_id ? person(answered.agent_id) : null,
      receivedBy: agents.map((id) => ({ ...person(id), branch: users.get(id)?.branch ?? null })),
      handled: done ? { at: done.at, by: { id: done.by, name: done.byName }, kind: done.kind, contactId: done.contactId } : null,
    });
  }
  // Portal requests ("contact my rep", key `req:<id>`) are entries of the same list.
  const requestIds = keys.flatMap((key) => repRequestIdOfKey(key) ?? []);
  for (const part of chunks([...new Set(requestIds)])) {
    for (const [key, request] of await loadRepRequestCalls(kysely, tenantId, part, handled)) calls.set(key, request);
  }
  return calls;
}

/** The keys of the inbound calls (and portal requests) of these customers that started at or after `since`. */
export async function branchCallKeysOfCustomers(
  kysely: Kysely<Database>,
  tenantId: string,
  customerIds: readonly string[],
  since: string,
): Promise<{ key: string; customerId: string }[]> {
  const db = branchCallsDb(kysely);
  const found = new Map<string, string>();
  for (const part of chunks([...new Set(customerIds)])) {
    const rows = await db
      .selectFrom('calls')
      .select((eb) => [eb.fn.coalesce('external_id', 'id').as('key'), 'customer_id'])
      .where('tenant_id', '=', tenantId)
      .where('direction', '=', 'inbound')
      .where('customer_id', 'in', part)
      .where('started_at', '>=', since)
      .execute();
    for (const row of rows) if (row.customer_id !== null) found.set(row.key, row.customer_id);
    for (const request of await repRequestKeysOfCustomers(kysely, tenantId, part, since)) found.set(request.key, request.customerId);
  }
  return [...found].map(([key, customerId]) => ({ key, customerId }));
}

/**
 * Records in the change log that a call of "calls for you" changed (a leg reported by the PBX or
 * the app, a handled mark), so the sync feed brings its current state to the apps that hold it.
 * Outbound legs are never listed and record nothing. `matched`: the call's customer was just found.
 */
export async function recordBranchCallChange(
  tx: WriteTx,
  call: { tenantId: string; key: string; customerId: string | null; direction?: 'inbound' | 'outbound'; matched?: boolean },
): Promise<void> {
  if (call.direction === 'outbound') return;
  await tx.recordChange({
    tenantId: call.tenantId,
    entity: 'branch_call',
    entityId: call.key,
    customerId: call.customerId,
    op: 'upsert',
    // Matched to a customer just now: it may leave the unregistered-callers scope of some users.
    visibilityChanged: call.matched === true,
  });
}
