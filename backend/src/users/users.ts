import type { Selectable } from 'kysely';
import type { Classification, User } from '../../../shared/domain.js';
import type { UsersTable } from '../db/schema.js';

export type UserRow = Selectable<UsersTable>;

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    login: row.login,
    displayName: row.display_name,
    role: row.role,
    branch: row.branch,
    customerLimitAuthority: row.customer_limit_authority as Classification,
    mayHandleUnregisteredCallers: row.may_handle_unregistered === 1,
    callsViewOnly: row.calls_view_only === 1,
    callsAllBranches: row.calls_all_branches === 1,
    ...(row.role === 'partner' ? { partnerOrg: row.partner_org } : {}),
  };
}
