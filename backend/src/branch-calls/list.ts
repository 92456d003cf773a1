import { sql, type Expression, type SqlBool } from 'kysely';
import type { CallForYou, CallsForYouResponse } from '../../../shared/calls-for-you.js';
import type { Classification, User } from '../../../shared/domain.js';
import { mayListCallsForYou, maySeeCallFrom, type CallsForYouScope } from '../../../shared/permissions.js';
import type { DatabaseHandle } from '../db/database.js';
import { HttpError } from '../http/errors.js';
import { branchCallsDb } from './schema.js';

/** Unhandled calls stay listed this long; older ones are history (the call log keeps them). */
export const UNHANDLED_KEPT_DAYS = 30;
/** Without an earlier login, "since the last login" means this long ago. */
const FIRST_LOGIN_LOOKBACK_DAYS = 7;
const MAX_LEGS = 5_000;
const KEY_CHUNK = 500;

/**
 * The previous login of the user (their login audit events, newest first; the newest is the
 * session in use). A user who never logged in before sees the last week.
 */
export async function previousLoginAt(handle: DatabaseHandle, user: User, now: Date): Promise<string> {
  const logins = await handle.db
    .selectFrom('audit_events')
    .select('at')
    .where('tenant_id', '=', user.tenantId)
    .where('user_id', '=', user.id)
    .where('action', '=', 'login')
    .orderBy('at', 'desc')
    .limit(2)
    .execute();
  return logins[1]?.at ?? new Date(now.getTime() - FIRST_LOGIN_LOOKBACK_DAYS * 86_400_000).toISOString();
}

/** The SQL of which calls a scope covers (the customer's rights are checked after, in code, by the shared rule). */
function scopeCondition(user: User, scope: CallsForYouScope): Expression<SqlBool> {
  const mine = sql<SqlBool>`(l.agent_id = ${user.id} or c.assigned_rep_id = ${user.id})`;
  switch (scope) {
    case 'mine':
      return sql<SqlBool>`(l.customer_id is not null and ${mine})`;
    case 'branch':
      return user.branch === null
        ? sql<SqlBool>`(l.customer_id is not null and ${mine})`
        : sql<SqlBool>`(l.customer_id is not null and (${mine} or c.branch = ${user.branch} or a.branch = ${user.branch}))`;
    case 'all':
      return sql<SqlBool>`l.customer_id is not null`;
    case 'unregistered': {
      if (user.role === 'admin' || user.callsAllBranches === true || user.branch === null) return sql<SqlBool>`l.customer_id is null`;
      return sql<SqlBool>`(l.customer_id is null and (l.agent_id = ${user.id} or a.branch = ${user.branch}))`;
    }
  }
}

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

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * GET /api/branch-calls: inbound calls of the scope since the user's previous login, and any
 * older one (up to UNHANDLED_KEPT_DAYS) still unhandled, newest first. Every leg of a call (the
 * PBX may ring several phones) is one entry: answered if anybody answered, with who did and
 * whose phones rang. Calls from customers the user may not read are never listed.
 */
export async function listCallsForYou(handle: DatabaseHandle, user: User, scope: CallsForYouScope, now = new Date()): Promise<CallsForYouResponse> {
  if (!mayListCallsForYou(user, scope)) {
    throw new HttpError('forbidden', `scope: you may not list "${scope}" calls`);
  }
  const db = branchCallsDb(handle.db);
  const since = await previousLoginAt(handle, user, now);
  const keptSince = new Date(now.getTime() - UNHANDLED_KEPT_DAYS * 86_400_000).toISOString();
  const windowStart = since < keptSince ? since : keptSince;

  const keyRows = await db
    .selectFrom('calls as l')
    .leftJoin('customers as c', (join) => join.onRef('c.id', '=', 'l.customer_id').onRef('c.tenant_id', '=', 'l.tenant_id'))
    .leftJoin('users as a', 'a.id', 'l.agent_id')
    .select((eb) => eb.fn.coalesce('l.external_id', 'l.id').as('key'))
    .where('l.tenant_id', '=', user.tenantId)
    .where('l.direction', '=', 'inbound')
    .where('l.started_at', '>=', windowStart)
    .where(scopeCondition(user, scope))
    .orderBy('l.started_at', 'desc')
    .limit(MAX_LEGS)
    .execute();
  const keys = [...new Set(keyRows.map((row) => row.key))];

  const legs: Leg[] = [];
  const handled = new Map<string, { at: string; by: string; byName: string; kind: 'contact' | 'visit' | 'seminar'; contactId: string }>();
  for (const part of chunks(keys, KEY_CHUNK)) {
    const rows = await db
      .selectFrom('calls')
      .select(['id', 'agent_id', 'customer_id', 'from_number', 'started_at', 'answered_at', 'status'])
      .select((eb) => eb.fn.coalesce('external_id', 'id').as('key'))
      .where('tenant_id', '=', user.tenantId)
      .where('direction', '=', 'inbound')
      .where((eb) => eb.or([eb('external_id', 'in', part), eb.and([eb('external_id', 'is', null), eb('id', 'in', part)])]))
      .execute();
    legs.push(...rows);
    const done = await db
      .selectFrom('call_handling as h')
      .innerJoin('users as u', 'u.id', 'h.handled_by')
      .select(['h.call_key', 'h.handled_at', 'h.handled_by', 'u.display_name', 'h.kind', 'h.contact_id'])
      .where('h.tenant_id', '=', user.tenantId)
      .where('h.call_key', 'in', part)
      .execute();
    for (const row of done) {
      handled.set(row.call_key, { at: row.handled_at, by: row.handled_by, byName: row.display_name, kind: row.kind, contactId: row.contact_id });
    }
  }

  const customerIds = [...new Set(legs.flatMap((leg) => (leg.customer_id ? [leg.customer_id] : [])))];
  const customers = new Map<string, { id: string; code: string; name: string; branch: string | null; classification: Classification; assignedRepId: string | null }>();
  for (const part of chunks(customerIds, KEY_CHUNK)) {
    const rows = await db
      .selectFrom('customers')
      .select(['id', 'code', 'name', 'branch', 'classification', 'assigned_rep_id'])
      .where('tenant_id', '=', user.tenantId)
      .where('id', 'in', part)
      .execute();
    for (const row of rows) {
      customers.set(row.id, { id: row.id, code: row.code, name: row.name, branch: row.branch, classification: row.classification as Classification, assignedRepId: row.assigned_rep_id });
    }
  }
  const userIds = [...new Set([...legs.flatMap((leg) => (leg.agent_id ? [leg.agent_id] : [])), ...[...customers.values()].flatMap((c) => (c.assignedRepId ? [c.assignedRepId] : []))])];
  const users = new Map<string, { name: string; branch: string | null }>();
  for (const part of chunks(userIds, KEY_CHUNK)) {
    const rows = await db.selectFrom('users').select(['id', 'display_name', 'branch']).where('tenant_id', '=', user.tenantId).where('id', 'in', part).execute();
    for (const row of rows) users.set(row.id, { name: row.display_name, branch: row.branch });
  }
  const person = (id: string) => ({ id, name: users.get(id)?.name ?? '' });

  const byKey = new Map<string, Leg[]>();
  for (const leg of legs) byKey.set(leg.key, [...(byKey.get(leg.key) ?? []), leg]);

  const entries: CallForYou[] = [];
  for (const key of keys) {
    const group = byKey.get(key);
    if (!group || group.length === 0) continue;
    const customerId = group.find((leg) => leg.customer_id !== null)?.customer_id ?? null;
    const customer = customerId === null ? null : customers.get(customerId);
    // Important: a call of a customer above the user's authority is not listed at all, in any scope.
    if (customerId !== null && (!customer || !maySeeCallFrom(user, customer))) continue;
    if ((customerId === null) !== (scope === 'unregistered')) continue;
    const startedAt = group.reduce((min, leg) => (leg.started_at < min ? leg.started_at : min), group[0]!.started_at);
    const done = handled.get(key) ?? null;
    if (startedAt < since && done !== null) continue;
    const answered = group.find((leg) => leg.answered_at !== null);
    const ringing = group.some((leg) => leg.status === 'ringing');
    const agents = [...new Set(group.flatMap((leg) => (leg.agent_id ? [leg.agent_id] : [])))];
    entries.push({
      key,
      startedAt: new Date(startedAt).toISOString(),
      outcome: answered ? 'answered' : ringing ? 'ringing' : 'missed',
      remote: group[0]!.from_number,
      customer: customer
        ? { id: customer.id, code: customer.code, name: customer.name, branch: customer.branch, assignedRep: customer.assignedRepId ? person(customer.assignedRepId) : null }
        : null,
      answeredBy: answered?.agent_id ? person(answered.agent_id) : null,
      receivedBy: agents.map((id) => ({ ...person(id), branch: users.get(id)?.branch ?? null })),
      handled: done ? { at: done.at, by: { id: done.by, name: done.byName }, kind: done.kind, contactId: done.contactId } : null,
    });
  }
  entries.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  const unhandled = entries.filter((entry) => entry.handled === null).length;
  return { scope, since, entries, counts: { handled: entries.length - unhandled, unhandled } };
}
