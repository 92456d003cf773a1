import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ADMIN_API, AdminUser, PasswordReset, TenantSettingsUpdate, UserCreate, UserUpdate, type AdminUsersResponse, type TenantSettings } from '../../../shared/admin.js';
import { Id, type User } from '../../../shared/domain.js';
import { mayManageRights } from '../../../shared/permissions.js';
import { tenantSipUser } from '../../../shared/sip-identity.js';
import { recordAudit } from '../audit.js';
import { hashPassword } from '../auth/passwords.js';
import type { BackendContext } from '../context.js';
import { isUniqueViolation } from '../customers/writes.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { loadMailConfig } from '../mail/config.js';
import { pokeTenant } from '../sync/changelog.js';
import { assertSipUserAvailable, recordSipUserRelease } from './sip-users.js';
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

/**
 * The SIP user after `update`: the one typed; none for a new admin; the tenant-qualified one
 * for an admin who becomes a staff user without one; else unchanged.
 */
function nextSipUser(row: UserRow, update: UserUpdate, tenantSlug: string): string | null {
  const role = update.role ?? row.role;
  if (update.sipUser !== undefined) {
    if (update.sipUser !== null && role === 'admin') throw new HttpError('invalid_input', 'body.sipUser: admins take no calls and have no SIP user');
    return update.sipUser;
  }
  if (role === 'admin' || role === 'partner') return null;
  if (row.role === 'admin' && row.sip_user === null) return tenantSipUser(row.login, tenantSlug);
  return row.sip_user;
}

/** A unique index refused a new user: the login within the tenant, or the SIP user across the PBX. */
function uniqueViolationError(error: unknown, login: string): HttpError {
  const text = error instanceof Error ? `${error.message} ${String((error as { constraint?: unknown }).constraint ?? '')}` : '';
  if (/sip_user/.test(text)) return new HttpError('conflict', 'body.sipUser: this SIP user is already in use on the PBX');
  return new HttpError('conflict', `body.login: ${login} is already taken`);
}

function assertAdmin(user: User): void {
  if (user.role !== 'admin') throw new HttpError('forbidden', 'only admins may manage users');
}

/**
 * The admin console's user management: list, create (staff, or partner users with their
 * organisation), rename, change role, organisation or SIP user, disable or enable, and reset a
 * password. A SIP user change reaches routing and call matching at once (both read users.sip_user)
 * and the user's softphone at its next credentials (it re-registers as the new one when idle). Rights (authority, branch, calls-for-you rights) stay on
 * PATCH /api/users/:id/rights with its escalation rules. Every change is audited; a change that
 * alters what the user may see pokes the tenant so that user's app pulls (and purges) at once.
 */
export function registerUserAdminRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const { db } = ctx.handle;
  const ttlSeconds = () => ctx.config.telephony.credentialTtlSeconds;

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
    const now = new Date();
    const isPartner = body.role === 'partner';
    const id = randomUUID();
    const created = await db
      .transaction()
      .execute(async (trx) => {
        // The login first: a taken login is what the admin must change, whatever the SIP user.
        const taken = await trx.selectFrom('users').select('id').where('tenant_id', '=', tenant.id).where('login', '=', body.login).executeTakeFirst();
        if (taken) throw new HttpError('conflict', `body.login: ${body.login} is already taken`);
        // Admins and partners take no calls (as in the seed); everybody else gets the SIP user
        // typed, else the tenant-qualified one.
        const sipUser = isPartner || body.role === 'admin' ? null : body.sipUser === undefined ? tenantSipUser(body.login, tenant.slug) : body.sipUser;
        if (sipUser !== null) {
          await assertSipUserAvailable(trx, { sipUser, userId: id, tenantSlug: tenant.slug, credentialTtlSeconds: ttlSeconds(), typed: body.sipUser !== undefined, now });
        }
        const row = await trx
          .insertInto('users')
          .values({
            id,
            tenant_id: tenant.id,
            login: body.login,
            display_name: body.displayName,
            password_hash: passwordHash,
            role: body.role,
            branch: body.branch ?? null,
            customer_limit_authority: body.customerLimitAuthority ?? 3,
            may_handle_unregistered: body.mayHandleUnregisteredCallers === true ? 1 : 0,
            calls_view_only: body.callsViewOnly === true ? 1 : 0,
            calls_all_branches: body.callsAllBranches === true ? 1 : 0,
            sip_user: sipUser,
            partner_org: isPartner ? (body.partnerOrg ?? null) : null,
            disabled: 0,
            created_at: now.toISOString(),
            updated_at: now.toISOString(),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const user = toAdminUser(row);
        await recordAudit(trx, {
          tenantId: tenant.id,
          userId: admin.id,
          action: 'user_created',
          details: {
            targetUserId: user.id,
            login: user.login,
            role: user.role,
            ...(isPartner
              ? { partnerOrg: user.partnerOrg ?? null }
              : { branch: user.branch, customerLimitAuthority: user.customerLimitAuthority, sipUser: user.sipUser }),
          },
        });
        return user;
      })
      .catch((error: unknown) => {
        if (isUniqueViolation(error)) throw uniqueViolationError(error, body.login);
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
    const now = new Date();
    const updated = await db
      .transaction()
      .execute(async (trx) => {
        const row = await trx.selectFrom('users').selectAll().where('tenant_id', '=', tenant.id).where('id', '=', id).executeTakeFirst();
        if (!row) throw new HttpError('not_found', 'no such user');
        if (row.role === 'partner') {
          if (update.role !== undefined) throw new HttpError('forbidden', "body.role: a partner user's role cannot change; create a staff user instead");
          if (update.sipUser) throw new HttpError('invalid_input', 'body.sipUser: a partner user has no phone');
        } else if (update.partnerOrg !== undefined) {
          throw new HttpError('invalid_input', 'body.partnerOrg: only partner users belong to a partner organisation');
        }
        const sipUser = nextSipUser(row, update, tenant.slug);
        if (sipUser !== null && sipUser.toLowerCase() !== row.sip_user?.toLowerCase()) {
          await assertSipUserAvailable(trx, { sipUser, userId: id, tenantSlug: tenant.slug, credentialTtlSeconds: ttlSeconds(), typed: update.sipUser !== undefined, now });
        }
        if (row.sip_user !== null && row.sip_user.toLowerCase() !== sipUser?.toLowerCase()) await recordSipUserRelease(trx, row.sip_user, id, now);
        const after = await trx
          .updateTable('users')
          .set({
            ...(update.displayName !== undefined ? { display_name: update.displayName } : {}),
            ...(update.role !== undefined ? { role: update.role } : {}),
            ...(update.disabled !== undefined ? { disabled: update.disabled ? 1 : 0 } : {}),
            ...(update.partnerOrg !== undefined ? { partner_org: update.partnerOrg } : {}),
            sip_user: sipUser,
            updated_at: now.toISOString(),
          })
          .where('tenant_id', '=', tenant.id)
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirstOrThrow();
        // A disabled user's sessions end now, not at their next expiry.
        if (update.disabled === true) await trx.deleteFrom('sessions').where('user_id', '=', id).execute();
        const before = toAdminUser(row);
        const changed = toAdminUser(after);
        const audited = (user: AdminUser) => ({
          displayName: user.displayName,
          role: user.role,
          disabled: user.disabled,
          ...(user.role === 'partner' ? { partnerOrg: user.partnerOrg ?? null } : { sipUser: user.sipUser }),
        });
        await recordAudit(trx, {
          tenantId: tenant.id,
          userId: admin.id,
          action: 'user_updated',
          details: { targetUserId: id, before: audited(before), after: audited(changed) },
        });
        return changed;
      })
      .catch((error: unknown) => {
        // Two admins assigning the same SIP user at once: the unique index decides.
        if (isUniqueViolation(error)) throw new HttpError('conflict', `body.sipUser: ${update.sipUser ?? 'the SIP user'} is already in use on the PBX`);
        throw error;
      });
    // A role or organisation decides what the user may see: their app pulls and purges as after a rights change.
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

  /** The tenant's report zone; the deployment's until an admin sets one. */
  const deploymentTimeZone = loadMailConfig().timeZone;
  const tenantSettings = async (tenantId: string): Promise<TenantSettings> => {
    const row = await db.selectFrom('tenants').select('time_zone').where('id', '=', tenantId).executeTakeFirstOrThrow();
    return { timeZone: row.time_zone, deploymentTimeZone };
  };

  app.get(ADMIN_API.tenantSettings, async (request): Promise<TenantSettings> => {
    assertAdmin(request.auth.user);
    return tenantSettings(request.auth.tenant.id);
  });

  app.put(ADMIN_API.tenantSettings, async (request): Promise<TenantSettings> => {
    const { user: admin, tenant } = request.auth;
    assertAdmin(admin);
    const update = parseRequest(TenantSettingsUpdate, request.body, 'body');
    await db.transaction().execute(async (trx) => {
      const before = await trx.selectFrom('tenants').select('time_zone').where('id', '=', tenant.id).executeTakeFirstOrThrow();
      await trx.updateTable('tenants').set({ time_zone: update.timeZone }).where('id', '=', tenant.id).execute();
      await recordAudit(trx, {
        tenantId: tenant.id,
        userId: admin.id,
        action: 'tenant_settings_changed',
        details: { before: { timeZone: before.time_zone }, after: { timeZone: update.timeZone } },
      });
    });
    return tenantSettings(tenant.id);
  });
}
