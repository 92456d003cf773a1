import type { UserRights } from '../../../shared/domain.js';
import { mayCreateCustomer } from '../../../shared/permissions.js';

/**
 * The SQL form of `maySeeCustomer` (shared/permissions.ts) over the cache's customers table:
 * a WHERE clause true for every customer the user may NOT read. The two must agree; the
 * cache tests check them against each other on every combination of rights and customer.
 */
export function invisibleCustomersWhere(rights: UserRights): { sql: string; params: unknown[] } {
  if (rights.role === 'admin') return { sql: '0', params: [] };
  if (rights.branch === null) {
    return { sql: 'classification < ?', params: [rights.customerLimitAuthority] };
  }
  // `IS NOT` rather than `<>`: a customer without a branch is outside every branch.
  return { sql: '(classification < ? OR branch IS NOT ?)', params: [rights.customerLimitAuthority, rights.branch] };
}

/** True when some customer visible under `before` is not visible under `after`. */
export function rightsShrank(before: UserRights, after: UserRights): boolean {
  if (after.role === 'admin') return false;
  // A non-admin with authority 1 and no branch reads everything, exactly like an admin.
  if (before.role === 'admin') return after.customerLimitAuthority > 1 || after.branch !== null;
  if (after.customerLimitAuthority > before.customerLimitAuthority) return true;
  return after.branch !== null && after.branch !== before.branch;
}

/** True when some customer not visible under `before` is visible under `after`. */
export function rightsGrew(before: UserRights, after: UserRights): boolean {
  return rightsShrank(after, before);
}

/**
 * True when some call of "calls for you" held under `before` may not be held under `after`
 * (`mayHoldBranchCall`): the customers' rule, the all-branches right, or the right to see
 * unregistered callers' calls shrank.
 */
export function branchCallRightsShrank(before: UserRights, after: UserRights): boolean {
  if (after.role === 'admin') return false;
  if (before.callsAllBranches === true && after.callsAllBranches !== true) return true;
  if (mayCreateCustomer(before) && !mayCreateCustomer(after)) return true;
  return rightsShrank(before, after);
}
