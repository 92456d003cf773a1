import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import {
  CALLS_FOR_YOU_SCOPES,
  callsWindowStart,
  countCalls,
  listedSince,
  type BranchCall,
  type CallForYou,
  type CallsForYouResponse,
} from '../../../shared/calls-for-you.js';
import type { User } from '../../../shared/domain.js';
import { callInScope, mayHoldBranchCall, mayListCallsForYou, type CallsForYouScope } from '../../../shared/permissions.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { repRequestKey } from '../../../shared/rep-requests.js';
import { repRequestDb } from '../rep-requests/schema.js';
import { loadBranchCalls } from './load.js';
import { branchCallsDb } from './schema.js';

/** Without an earlier login, "since the last login" means this long ago. */
const FIRST_LOGIN_LOOKBACK_DAYS = 7;
const MAX_LEGS = 5_000;

/**
 * The previous login of the user (their login audit events, newest first; the newest is the
 * session in use). A user who never logged in before sees the last week.
 */
export async function previousLoginAt(db: Kysely<Database>, user: User, now: Date): Promise<string> {
  const logins = await db
    .selectFrom('audit_events')
    .select('at')
    .where('tenant_id', '=', user.tenantId)
    .where('user_id', '=', user.id)
    .where('action', '=', 'login')
    .orderBy('at', 'desc')
    .limit(2)
    .execute();
  return loginOrLookback(logins[1]?.at ?? null, now);
}

/** The previous login as read (the session lookup reads it too: auth/sessions.ts), or the last week without one. */
export function loginOrLookback(previous: string | null, now: Date): string {
  return previous ?? new Date(now.getTime() - FIRST_LOGIN_LOOKBACK_DAYS * 86_400_000).toISOString();
}

/** The SQL of which calls a scope covers (narrowing only: `callInScope` decides, in code). */
export function scopeCondition(user: User, scope: CallsForYouScope): Expression<SqlBool> {
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

/**
 * The keys of portal requests ("contact my rep", shared/rep-requests.ts) since `windowStart` that
 * `condition` may cover: the requests are read as calls whose phone "rang" for the rep they were
 * routed to (`agent_id`), so the one `scopeCondition` narrows both.
 */
async function requestKeysInWindow(kysely: Kysely<Database>, user: User, windowStart: string, condition: Expression<SqlBool>): Promise<string[]> {
  const rows = await repRequestDb(kysely)
    .selectFrom((eb) =>
      eb
        .selectFrom('rep_requests')
        .select(['id', 'tenant_id', 'customer_id', 'created_at', 'routed_to as agent_id'])
        .where('tenant_id', '=', user.tenantId)
        .where('created_at', '>=', windowStart)
        .as('l'),
    )
    .innerJoin('customers as c', (join) => join.onRef('c.id', '=', 'l.customer_id').onRef('c.tenant_id', '=', 'l.tenant_id'))
    .leftJoin('users as a', 'a.id', 'l.agent_id')
    .select('l.id')
    .where(condition)
    .orderBy('l.created_at', 'desc')
    .limit(MAX_LEGS)
    .execute();
  return rows.map((row) => repRequestKey(row.id));
}

/**
 * GET /api/branch-calls: inbound calls of the scope since the user's previous login, and any
 * older one (up to UNHANDLED_KEPT_DAYS, shared/calls-for-you.ts) still unhandled, newest first. Every leg of a call (the
 * PBX may ring several phones) is one entry: answered if anybody answered, with who did and
 * whose phones rang. Calls from customers the user may not read are never listed.
 */
export async function listCallsForYou(handle: DatabaseHandle, user: User, scope: CallsForYouScope, now = new Date()): Promise<CallsForYouResponse> {
  if (!mayListCallsForYou(user, scope)) {
    throw new HttpError('forbidden', `scope: you may not list "${scope}" calls`);
  }
  const db = branchCallsDb(handle.db);
  const since = await previousLoginAt(handle.db, user, now);
  const windowStart = callsWindowStart(since, now);

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
  const keys = [...new Set([...keyRows.map((row) => row.key), ...(await requestKeysInWindow(handle.db, user, windowStart, scopeCondition(user, scope)))])];

  const calls = await loadBranchCalls(handle.db, user.tenantId, keys);

  const listed = listedSince(since, now);
  const entries: CallForYou[] = [];
  for (const key of keys) {
    const call = calls.get(key);
    // Important: one rule for the server and the app's cache (classification, customer limit, branch, scope).
    if (!call || !callInScope(user, scope, call)) continue;
    if (!listed(call)) continue;
    entries.push(call);
  }
  entries.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  return { scope, since, entries, counts: countCalls(entries) };
}

/**
 * Every call the user's app may hold for "calls for you" offline: those of every scope the user
 * may list that the list would show now (see `listedSince`), newest first. The last page of a
 * snapshot carries them; later the change log keeps them current.
 */
export async function readHeldBranchCalls(kysely: Kysely<Database>, user: User, since: string, now = new Date()): Promise<BranchCall[]> {
  const scopes = CALLS_FOR_YOU_SCOPES.filter((scope) => mayListCallsForYou(user, scope));
  const anyScope = sql<SqlBool>`(${sql.join(scopes.map((scope) => scopeCondition(user, scope)), sql` or `)})`;
  const keyRows = await branchCallsDb(kysely)
    .selectFrom('calls as l')
    .leftJoin('customers as c', (join) => join.onRef('c.id', '=', 'l.customer_id').onRef('c.tenant_id', '=', 'l.tenant_id'))
    .leftJoin('users as a', 'a.id', 'l.agent_id')
    .select((eb) => eb.fn.coalesce('l.external_id', 'l.id').as('key'))
    .where('l.tenant_id', '=', user.tenantId)
    .where('l.direction', '=', 'inbound')
    .where('l.started_at', '>=', callsWindowStart(since, now))
    .where(anyScope)
    .orderBy('l.started_at', 'desc')
    .limit(MAX_LEGS)
    .execute();
  const keys = [...new Set([...keyRows.map((row) => row.key), ...(await requestKeysInWindow(kysely, user, callsWindowStart(since, now), anyScope))])];
  const calls = await loadBranchCalls(kysely, user.tenantId, keys);
  const listed = listedSince(since, now);
  return keys.flatMap((key) => {
    const call = calls.get(key);
    return call && mayHoldBranchCall(user, call) && listed(call) ? [call] : [];
  });
}
