import { listedWindow } from '../../../shared/calls-for-you.js';
import type { UserRights } from '../../../shared/domain.js';
import { mayListCallsForYou, type CallsForYouScope } from '../../../shared/permissions.js';
import { assertNever } from '../../../shared/result.js';

/**
 * The SQL form, over the cache's `branch_calls` table (the columns of cache migration 005), of
 * which calls a scope of "calls for you" lists: `callInScope` (shared/permissions.ts) and
 * `listedSince` (shared/calls-for-you.ts). The list and its counts select with it instead of
 * parsing every cached call of the shift on each count (bench:memory, issue 13 item 7). The
 * two forms must agree; calls-for-you-sql.test.ts checks them against each other on every
 * combination of rights, scope and call.
 */
export function listedBranchCallsWhere(
  user: UserRights & { id: string },
  scope: CallsForYouScope,
  since: string,
  now: Date,
): { sql: string; params: unknown[] } {
  const { sinceMs, windowStartMs } = listedWindow(since, now);
  const scopeWhere = inScopeWhere(user, scope);
  return {
    sql: `started_ms >= ? AND (started_ms >= ? OR handled = 0) AND (${scopeWhere.sql})`,
    params: [windowStartMs, sinceMs, ...scopeWhere.params],
  };
}

/** Whose phones rang, from the call's `received_by_json` (its `receivedBy`). */
function rangWhere(field: 'id' | 'branch', value: string): { sql: string; params: unknown[] } {
  return { sql: `EXISTS (SELECT 1 FROM json_each(received_by_json) WHERE value ->> '$.${field}' = ?)`, params: [value] };
}

function or(...parts: { sql: string; params: unknown[] }[]): { sql: string; params: unknown[] } {
  return { sql: parts.map((part) => `(${part.sql})`).join(' OR '), params: parts.flatMap((part) => part.params) };
}

const NONE = { sql: '0', params: [] };
const ALL = { sql: '1', params: [] };

/** `callInScope` in SQL. */
function inScopeWhere(user: UserRights & { id: string }, scope: CallsForYouScope): { sql: string; params: unknown[] } {
  if (!mayListCallsForYou(user, scope)) return NONE;
  const rangUser = rangWhere('id', user.id);
  const rangBranch = user.branch === null ? NONE : rangWhere('branch', user.branch);
  if (scope === 'unregistered') {
    const anyBranch = user.role === 'admin' || user.callsAllBranches === true || user.branch === null;
    const rang = anyBranch ? ALL : or(rangUser, rangBranch);
    return { sql: `customer_id IS NULL AND (${rang.sql})`, params: rang.params };
  }
  const seen = maySeeCallFromWhere(user);
  const mine = or(rangUser, { sql: 'assigned_rep_id IS ?', params: [user.id] });
  const listed = (() => {
    switch (scope) {
      case 'mine':
        return mine;
      case 'branch':
        return user.branch === null ? mine : or(mine, { sql: 'customer_branch IS ?', params: [user.branch] }, rangBranch);
      case 'all':
        return ALL;
      default:
        return assertNever(scope, 'scope');
    }
  })();
  return { sql: `customer_id IS NOT NULL AND (${seen.sql}) AND (${listed.sql})`, params: [...seen.params, ...listed.params] };
}

/** `maySeeCallFrom` in SQL, over the call's customer columns. */
function maySeeCallFromWhere(user: UserRights): { sql: string; params: unknown[] } {
  if (user.role === 'admin') return ALL;
  if (user.role === 'partner') return NONE;
  if (user.callsAllBranches === true || user.branch === null) {
    return { sql: 'customer_classification >= ?', params: [user.customerLimitAuthority] };
  }
  return { sql: 'customer_classification >= ? AND customer_branch IS ?', params: [user.customerLimitAuthority, user.branch] };
}
