import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ADMIN_API, AdminUser, PasswordReset, UserCreate, UserUpdate, type AdminUsersResponse } from '../../../shared/admin.js';
import { Id, type User } from '../../../shared/domain.js';
import { mayManageRights } from '../../../shared/permissions.js';
import { tenantSipUser } from '../../../shared/sip-identity.js';
import { recordAudit } from '../audit.js';
import { hashPassword } from '../auth/passwords.js';
import type { BackendContext } from '../context.js';
import { isUniqueViolation } from '../customers/writes.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { pokeTenant } from '../sync/changelog.js';
import { toUser, type UserRow } from './users.js';

const IdParams = z.object({ id: Id });

function toAdminUser(row: UserRow): AdminUser {
  return {
    ...toUser(row),
    disabled: row.disabled !== 0,
    sipUser: row.sip_user,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function assertAdmin(user: User): void {
  if (user.role !== 'admin') throw new HttpError('forbidden', 'only admins may manage users');
}

/**
 * The admin console's user management: list, create, rename, change role, disable or enable,
 * and reset a password. Rights (authority, branch, calls-for-you rights) stay on
 * PATCH /api/users/:id/rights with its escalation rules. Every change is audited; a change that
 * alters what the user may see pokes the tenant so that user's app pulls (and purges) at once.
 */
export function registerUserAdminRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const { db } = ctx.handle;

  /** Supervisors see the users they may manage the rights of: their branch's, or every staff user's. */
  app.get(ADMIN_API.users, async (request): Promise<AdminUsersResponse> => {
    const { user: viewer, tenant } = request.auth;
    if (!mayManageRights(viewer)) throw new HttpError('forbidden', 'only supervisors and admins may list users');
    let query = db.selectFrom('users').selectAll().where('tenant_id', '=', tenant.id);
    if (viewer.role !== 'admin') {
      query = query.where('role', '!=', 'partner');
      if (viewer.branch !== null) query = query.where('branch', '=', viewer.branch);
    }
    const rows = await query.orderBy('login').execute();
    return { users: rows.map(toAdminUser) };
  });

  app.post(ADMIN_API.users, async (request, reply) => {
    const { user: admin, tenant } = request.auth;
    assertAdmin(admin);
    const body = parseRequest(UserCreate, request.body, 'body');
    const passwordHash = await hashPassword(body.password, ctx.config.argon2);
    const now = new Date().toISOString();
    const created = await db
      .transaction()
      .execute(async (trx) => {
        const row = await trx
          .insertInto('users')
          .values({
            id: randomUUID(),
            tenant_id: tenant.id,
            login: body.login,
            display_name: body.displayName,
            password_hash: passwordHash,
            role: body.role,
            branch: body.branch,
            customer_limit_authority: body.customerLimitAuthority,
            may_handle_unregistered: body.mayHandleUnregisteredCallers ? 1 : 0,
            calls_view_only: body.callsViewOnly ? 1 : 0,
            calls_all_branches: body.callsAllBranches ? 1 : 0,
            // Admins take no calls (as in the seed); everybody else gets the tenant-qualified SIP user.
            sip_user: body.role === 'admin' ? null : tenantSipUser(body.login, tenant.slug),
            disabled: 0,
            created_at: now,
            updated_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const user = toAdminUser(row);
        await recordAudit(trx, {
          tenantId: tenant.id,
          userId: admin.id,
          action: 'user_created',
          details: { targetUserId: user.id, login: user.login, role: user.role, branch: user.branch, customerLimitAuthority: user.customerLimitAuthority },
        });
        return user;
      })
      .catch((error: unknown) => {
        if (isUniqueViolation(error)) throw new HttpError('conflict', `body.login: ${body.login} is already taken`);
        throw error;
      });
    return reply.status(201).send(created);
  });

  app.patch(ADMIN_API.user, async (request): Promise<AdminUser> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { user: admin, tenant } = request.auth;
    assertAdmin(admin);
    const update = parseRequest(UserUpdate, request.body, 'body');
    // Important: an admin who disabled or demoted themselves could leave the tenant without one.
    if (id === admin.id && (update.disabled === true || (update.role !== undefined && update.role !== 'admin'))) {
      throw new HttpError('forbidden', `body.${update.disabled === true ? 'disabled' : 'role'}: you may not disable or demote yourself; ask another admin`);
    }
    const updated = await db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('users').selectAll().where('tenant_id', '=', tenant.id).where('id', '=', id).executeTakeFirst();
      if (!row) throw new HttpError('not_found', 'no such user');
      if (row.role === 'partner' && update.role !== undefined) {
        throw new HttpError('forbidden', "body.role: a partner user's role cannot change; create a staff user instead");
      }
      const after = await trx
        .updateTable('users')
        .set({
          ...(update.displayName !== undefined ? { display_name: update.displayName } : {}),
          ...(update.role !== undefined ? { role: update.role } : {}),
          ...(update.disabled !== undefined ? { disabled: update.disabled ? 1 : 0 } : {}),
          updated_at: new Date().toISOString(),
        })
        .where('tenant_id', '=', tenant.id)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      // A disabled user's sessions end now, not at their next expiry.
      if (update.disabled === true) await trx.deleteFrom('sessions').where('user_id', '=', id).execute();
      const before = toAdminUser(row);
      const changed = toAdminUser(after);
      await recordAudit(trx, {
        tenantId: tenant.id,
        userId: admin.id,
        action: 'user_updated',
        details: {
          targetUserId: id,
          before: { displayName: before.displayName, role: before.role, disabled: before.disabled },
          after: { displayName: changed.displayName, role: changed.role, disabled: changed.disabled },
        },
      });
      return changed;
    });
    // A role decides what the user may see: their app pulls and purges as after a rights change.
    await pokeTenant(ctx.handle, tenant.id, id);
    return updated;
  });

  app.post(ADMIN_API.userPassword, async (request, reply) => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { user: admin, tenant } = request.auth;
    assertAdmin(admin);
    const body = parseRequest(PasswordReset, request.body, 'body');
    const passwordHash = await hashPassword(body.password, ctx.config.argon2);
    await db.transaction().execute(async (trx) => {
      const changed = await trx
        .updateTable('users')
        .set({ password_hash: passwordHash, updated_at: new Date().toISOString() })
        .where('tenant_id', '=', tenant.id)
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(changed.numUpdatedRows) === 0) throw new HttpError('not_found', 'no such user');
      // Whoever held the old password is signed out everywhere.
      await trx.deleteFrom('sessions').where('user_id', '=', id).execute();
      // Important: the password itself is never logged or audited.
      await recordAudit(trx, { tenantId: tenant.id, userId: admin.id, action: 'user_password_reset', details: { targetUserId: id } });
    });
    return reply.status(204).send();
  });
}
