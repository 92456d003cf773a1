import { sql, type Expression, type SqlBool } from 'kysely';
import type { UserRights } from '../../../shared/domain.js';

/**
 * The SQL form of shared/permissions.ts `maySeeCustomer`, for filtering reads in the query
 * itself. `customers` names the customers table or its alias in the query. A test checks that
 * both forms agree on every combination of rights and customer.
 *
 * Important: change both together. `c.branch = ?` is NULL (so false) for a customer without
 * a branch, which is what `customer.branch !== user.branch` decides in the function.
 */
export function visibleCustomerSql(user: Pick<UserRights, 'role' | 'branch' | 'customerLimitAuthority'>, customers = 'customers'): Expression<SqlBool> {
  if (user.role === 'admin') return sql<SqlBool>`1 = 1`;
  if (user.role === 'partner') return sql<SqlBool>`1 = 0`;
  const classification = sql.ref(`${customers}.classification`);
  if (user.branch === null) return sql<SqlBool>`${classification} >= ${user.customerLimitAuthority}`;
  const branch = sql.ref(`${customers}.branch`);
  return sql<SqlBool>`(${classification} >= ${user.customerLimitAuthority} and ${branch} = ${user.branch})`;
}
