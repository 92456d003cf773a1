import type { Customer, UserRights } from './domain.js';

/**
 * The one rule that decides whether a user may read a customer. The backend enforces it
 * (in SQL through `visibleCustomerSql` and in code through this function); the app uses the
 * same function to purge its cache when the user's rights shrink.
 */
export function maySeeCustomer(
  user: UserRights,
  customer: Pick<Customer, 'classification' | 'branch'>,
): boolean {
  if (user.role === 'admin') return true;
  if (customer.classification < user.customerLimitAuthority) return false;
  if (user.branch !== null && customer.branch !== user.branch) return false;
  return true;
}

/** Supervisors and admins manage users' rights; nobody else. */
export function mayManageRights(user: UserRights): boolean {
  return user.role === 'admin' || user.role === 'supervisor';
}

/** Whether an unknown caller's panel may offer "create customer" to this user. */
export function mayCreateCustomerFromCall(user: UserRights): boolean {
  return user.role === 'admin' || user.mayHandleUnregisteredCallers;
}

/**
 * Whether the user may read every customer of the tenant. Only then does "no customer found"
 * mean the caller is unregistered; for a branch rep it may also be another branch's customer,
 * so the app says "not one of your customers", which is true either way and reveals nothing.
 */
export function seesEveryCustomer(user: UserRights): boolean {
  return user.role === 'admin' || (user.branch === null && user.customerLimitAuthority === 1);
}
