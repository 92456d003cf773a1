import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API, RightsUpdate, type UserResponse } from '../../../shared/api.js';
import { Id, type User } from '../../../shared/domain.js';
import { mayManageRights } from '../../../shared/permissions.js';
import { recordAudit } from '../audit.js';
import type { BackendContext } from '../context.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { pokeTenant } from '../sync/changelog.js';
import { registerUserAdminRoutes } from './admin-routes.js';
import { toUser } from './users.js';

const IdParams = z.object({ id: Id });

/** Whether `update` would let `before` see or do more than now. */
function raisesRights(before: User, update: z.infer<typeof RightsUpdate>): string | null {
  if (update.customerLimitAuthority !== undefined && update.customerLimitAuthority < before.customerLimitAuthority) return 'customerLimitAuthority';
  // Any other branch, and no branch at all, opens customers this user could not see before.
  if (update.branch !== undefined && update.branch !== before.branch) return 'branch';
  if (update.mayHandleUnregisteredCallers === true && !before.mayHandleUnregisteredCallers) return 'mayHandleUnregisteredCallers';
  if (update.callsAllBranches === true && before.callsAllBranches !== true) return 'callsAllBranches';
  // Lifting "view, not respond" lets the user mark calls handled.
  if (update.callsViewOnly === false && before.callsViewOnly === true) return 'callsViewOnly';
  return null;
}

/**
 * Nobody raises their own rights, admins included (another admin does that, and it is
 * audited). A supervisor manages agents only, within their own reach: never an admin or
 * another supervisor, never someone outside their branch, and never more than they hold
 * themselves. Admins manage everyone else.
 */
function refuseEscalation(manager: User, target: User, update: z.infer<typeof RightsUpdate>): void {
  if (manager.id === target.id) {
    const raised = raisesRights(target, update);
    if (raised) throw new HttpError('forbidden', `body.${raised}: nobody may raise their own rights; ask an admin`);
  }
  if (manager.role === 'admin') return;
  if (target.role === 'admin') throw new HttpError('forbidden', 'only admins may change the rights of an admin');
  if (target.role === 'partner') throw new HttpError('forbidden', "only admins may change a partner user's rights");
  if (target.role === 'supervisor' && target.id !== manager.id) {
    throw new HttpError('forbidden', "only admins may change a supervisor's rights");
  }
  if (manager.branch !== null && target.branch !== manager.branch) {
    throw new HttpError('forbidden', 'you may only change the rights of users of your branch');
  }
  if (update.customerLimitAuthority !== undefined && update.customerLimitAuthority < manager.customerLimitAuthority) {
    throw new HttpError('forbidden', 'body.customerLimitAuthority: you may not grant more than your own authority');
  }
  if (update.branch !== undefined && manager.branch !== null && update.branch !== manager.branch) {
    throw new HttpError('forbidden', 'body.branch: you may only assign your own branch');
  }
  if (update.mayHandleUnregisteredCallers === true && !manager.mayHandleUnregisteredCallers) {
    throw new HttpError('forbidden', 'body.mayHandleUnregisteredCallers: you may not grant a right you do not hold');
  }
  if (update.callsAllBranches === true && manager.callsAllBranches !== true) {
    throw new HttpError('forbidden', 'body.callsAllBranches: you may not grant a right you do not hold');
  }
}

function rightsOf(user: User) {
  return {
    customerLimitAuthority: user.customerLimitAuthority,
    branch: user.branch,
    mayHandleUnregisteredCallers: user.mayHandleUnregisteredCallers,
    callsViewOnly: user.callsViewOnly === true,
    callsAllBranches: user.callsAllBranches === true,
  };
}

export function registerUserRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const { db } = ctx.handle;
  registerUserAdminRoutes(app, ctx);

  app.patch(API.userRights, async (request): Promise<UserResponse> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { user: manager, tenant } = request.auth;
    if (!mayManageRights(manager)) throw new HttpError('forbidden', 'only supervisors and admins may change rights');
    const update = parseRequest(RightsUpdate, request.body, 'body');
    const response = await db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('users').selectAll().where('tenant_id', '=', tenant.id).where('id', '=', id).executeTakeFirst();
      if (!row) throw new HttpError('not_found', 'no such user');
      const before = toUser(row);
      if (before.role === 'partner') {
        // A partner user sees only the exchange: no branch, authority or calls rights to give.
        const field = Object.entries(update).find(([, value]) => value !== undefined)?.[0] ?? 'rights';
        throw new HttpError(manager.role === 'admin' ? 'invalid_input' : 'forbidden', `body.${field}: a partner user has no staff rights`);
      }
      refuseEscalation(manager, before, update);
      const updated = await trx
        .updateTable('users')
        .set({
          ...(update.customerLimitAuthority !== undefined ? { customer_limit_authority: update.customerLimitAuthority } : {}),
          ...(update.branch !== undefined ? { branch: update.branch } : {}),
          ...(update.mayHandleUnregisteredCallers !== undefined
            ? { may_handle_unregistered: update.mayHandleUnregisteredCallers ? 1 : 0 }
            : {}),
          ...(update.callsViewOnly !== undefined ? { calls_view_only: update.callsViewOnly ? 1 : 0 } : {}),
          ...(update.callsAllBranches !== undefined ? { calls_all_branches: update.callsAllBranches ? 1 : 0 } : {}),
          updated_at: new Date().toISOString(),
        })
        .where('tenant_id', '=', tenant.id)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const after = toUser(updated);
      await recordAudit(trx, {
        tenantId: tenant.id,
        userId: manager.id,
        action: 'rights_changed',
        details: {
          targetUserId: id,
          before: rightsOf(before),
          after: rightsOf(after),
        },
      });
      return { user: after };
    });
    await pokeTenant(ctx.handle, tenant.id, id);
    return response;
  });
}
