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
  if (user.role === 'partner') return false;
  if (customer.classification < user.customerLimitAuthority) return false;
  if (user.branch !== null && customer.branch !== user.branch) return false;
  return true;
}

/**
 * Whose overdue callbacks a user sees besides their own: supervisors and admins every one of
 * the tenant's (their live view); an operator those of their team, the users of the same
 * branch (users without a branch are the tenant's central team). Customer visibility
 * (maySeeCustomer) applies on top.
 */
export function maySeeTeamCallbacks(viewer: Pick<UserRights, 'role' | 'branch'>, flagger: { branch: string | null }): boolean {
  if (viewer.role === 'admin' || viewer.role === 'supervisor') return true;
  return viewer.branch === flagger.branch;
}

/** Admins set up the tenant's telephony: settings, wrap-up codes, call routing rules. */
export function mayManageTelephony(user: UserRights): boolean {
  return user.role === 'admin';
}

/** Supervisors and admins manage users' rights; nobody else. */
export function mayManageRights(user: UserRights): boolean {
  return user.role === 'admin' || user.role === 'supervisor';
}

/**
 * The one rule of "may create a customer": admins, and anyone granted
 * may-handle-unregistered-callers (a supervisor without it included). The backend's
 * POST /api/customers enforces it; the app offers "create customer" on an unknown caller's
 * panel and in the wrap-up by it. Tests run one table of cases against both.
 */
export function mayCreateCustomer(user: UserRights): boolean {
  return user.role === 'admin' || user.mayHandleUnregisteredCallers;
}

/** Whether an unknown caller's panel may offer "create customer" to this user: the same rule. */
export function mayCreateCustomerFromCall(user: UserRights): boolean {
  return mayCreateCustomer(user);
}

/**
 * Classification, branch and assigned rep decide who sees a customer: supervisors and admins
 * change them, agents edit only the other details (name, kana, phones, e-mails, address).
 */
export function mayChangeCustomerVisibility(user: UserRights): boolean {
  return user.role !== 'agent';
}

/** The customer fields only `mayChangeCustomerVisibility` users may change. */
export const CUSTOMER_VISIBILITY_FIELDS = ['classification', 'branch', 'assignedRepId'] as const;

/**
 * Whoever may read a customer may work its incidents: open one, rename, close, reopen, and
 * move a contact between the customer's incidents.
 */
export function mayEditIncidents(user: UserRights, customer: Pick<Customer, 'classification' | 'branch'>): boolean {
  return maySeeCustomer(user, customer);
}

/**
 * Reassigning an incident. The new assignee (null: nobody) must be able to read the customer,
 * or the incident would sit with someone who cannot open it. Agents take an incident for
 * themselves or hand over their own; supervisors and admins assign any.
 */
export function mayAssignIncident(
  actor: UserRights & { id: string },
  incident: { assigneeId: string | null },
  assignee: (UserRights & { id: string }) | null,
  customer: Pick<Customer, 'classification' | 'branch'>,
): boolean {
  if (!mayEditIncidents(actor, customer)) return false;
  if (assignee !== null && !maySeeCustomer(assignee, customer)) return false;
  if (actor.role !== 'agent') return true;
  return assignee?.id === actor.id || incident.assigneeId === actor.id;
}

/**
 * Whether the user may read every customer of the tenant. Only then does "no customer found"
 * mean the caller is unregistered; for a branch rep it may also be another branch's customer,
 * so the app says "not one of your customers", which is true either way and reveals nothing.
 */
export function seesEveryCustomer(user: UserRights): boolean {
  return user.role === 'admin' || (user.branch === null && user.customerLimitAuthority === 1);
}

/** Which "calls for you" a user asks for: their own, their branch's, every branch's, or unknown callers'. */
export type CallsForYouScope = 'mine' | 'branch' | 'all' | 'unregistered';

/**
 * Whether a user may list calls in this scope. Everybody has "mine"; "branch" needs a branch (or
 * a whole-tenant user, for whom it means the same as "mine" plus their assigned customers');
 * "all" needs the all-branches right (admins have it); "unregistered" needs the right to handle
 * unregistered callers, since the only thing to do with such an entry is to create the customer.
 */
export function mayListCallsForYou(user: UserRights, scope: CallsForYouScope): boolean {
  switch (scope) {
    case 'mine':
    case 'branch':
      return true;
    case 'all':
      return user.role === 'admin' || user.callsAllBranches === true;
    case 'unregistered':
      return mayCreateCustomer(user);
  }
}

/**
 * Whether a call from this customer may appear in the user's "calls for you". Classification
 * always applies (a rep never sees a call from a customer above their authority); the branch
 * applies unless the user may see every branch's calls.
 */
export function maySeeCallFrom(user: UserRights, customer: Pick<Customer, 'classification' | 'branch'>): boolean {
  if (user.role === 'admin') return true;
  if (user.role === 'partner') return false;
  if (customer.classification < user.customerLimitAuthority) return false;
  if (user.callsAllBranches === true) return true;
  return maySeeCustomer(user, customer);
}

/** What `callInScope` needs to know of a call: its customer (null: an unregistered caller) and whose phones rang. */
export interface CallScopeFacts {
  customer: { classification: Customer['classification']; branch: string | null; assignedRep: { id: string } | null } | null;
  receivedBy: readonly { id: string; branch: string | null }[];
}

/**
 * The one rule of which calls a scope of "calls for you" lists for a user: the backend's list
 * (backend/src/branch-calls/list.ts) filters with it, the sync feed sends a call to the apps of
 * the users in whose some scope it is, and the app lists its cached calls with it.
 *
 * - mine: calls from the user's assigned customers, or that rang the user's phone;
 * - branch: also calls from the branch's customers and calls that rang a phone of the branch
 *   (a user without a branch: the same as mine);
 * - all: every registered caller's call (the all-branches right);
 * - unregistered: calls from unknown numbers that rang the user's phone or the branch (anyone's
 *   for whole-tenant users and the all-branches right).
 * A registered caller's call is never listed when the user may not see calls from that customer
 * (`maySeeCallFrom`), nor a scope the user may not list (`mayListCallsForYou`).
 */
export function callInScope(user: UserRights & { id: string }, scope: CallsForYouScope, call: CallScopeFacts): boolean {
  if (!mayListCallsForYou(user, scope)) return false;
  const rangUser = call.receivedBy.some((agent) => agent.id === user.id);
  const rangBranch = user.branch !== null && call.receivedBy.some((agent) => agent.branch === user.branch);
  const { customer } = call;
  if (customer === null) {
    if (scope !== 'unregistered') return false;
    return user.role === 'admin' || user.callsAllBranches === true || user.branch === null || rangUser || rangBranch;
  }
  if (scope === 'unregistered' || !maySeeCallFrom(user, customer)) return false;
  const mine = rangUser || customer.assignedRep?.id === user.id;
  switch (scope) {
    case 'mine':
      return mine;
    case 'branch':
      return mine || (user.branch !== null && (customer.branch === user.branch || rangBranch));
    case 'all':
      return true;
  }
}

const CALLS_FOR_YOU_SCOPE_LIST: readonly CallsForYouScope[] = ['mine', 'branch', 'all', 'unregistered'];

/** Whether a call belongs in the user's copy of "calls for you" at all: it is in some scope they may list. */
export function mayHoldBranchCall(user: UserRights & { id: string }, call: CallScopeFacts): boolean {
  return CALLS_FOR_YOU_SCOPE_LIST.some((scope) => callInScope(user, scope, call));
}


/** The "view, not respond" right: such a user sees the list but never marks a call handled. */
export function mayHandleCallsForYou(user: UserRights): boolean {
  return user.callsViewOnly !== true;
}

/** Admins edit the tenant's callback text template; everybody renders it. */
export function mayEditCallbackTemplate(user: UserRights): boolean {
  return user.role === 'admin';
}

/** Supervisors and admins may listen to, whisper into and join operators' live calls (still only calls of customers they may see). */
export function mayMonitorCalls(user: UserRights): boolean {
  return user.role === 'admin' || user.role === 'supervisor';
}

/** Admins build PII-stripped exports and share them with partner organisations. */
export function mayManageExchange(user: Pick<UserRights, 'role'>): boolean {
  return user.role === 'admin';
}

/**
 * A partner user works only in the exchange view: no customers, no softphone, no offline cache.
 * The backend refuses it every route but the exchange's list and download (and its session's).
 */
export function isPartnerUser(user: Pick<UserRights, 'role'>): boolean {
  return user.role === 'partner';
}

/**
 * The audit viewer: admins see every event of the tenant; supervisors those of customers they
 * may see (maySeeCustomer) and those of no customer. Agents none.
 */
export function mayViewAudit(user: UserRights): boolean {
  return user.role === 'admin' || user.role === 'supervisor';
}

/**
 * Reports (backend/src/reports): admins and supervisors see the tenant's figures per operator
 * and per branch; they are counts and times, no customer's data. Agents and partners none.
 */
export function mayViewReports(user: UserRights): boolean {
  return user.role === 'admin' || user.role === 'supervisor';
}
