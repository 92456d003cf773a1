import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API, LoginRequest, type LoginResponse, type MeResponse } from '../../../shared/api.js';
import { recordAudit } from '../audit.js';
import type { BackendContext } from '../context.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { toUser } from '../users/users.js';
import { createSession, deleteSession, resolveSession, type AuthContext } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every route of the authenticated scope. */
    auth: AuthContext;
  }
}

const LOGIN_FAILED = 'wrong tenant, login or password';

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * EventSource cannot set headers, so the SSE route alone also takes the token as `?token=`.
 * Other routes refuse it there: URLs end up in logs and browser history.
 */
function queryToken(request: FastifyRequest): string | null {
  if (request.routeOptions.url !== API.events) return null;
  const token = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof token === 'string' && token.length > 0 ? token : null;
}

export function authenticationHook(ctx: BackendContext) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = bearerToken(request) ?? queryToken(request);
    if (!token) throw new HttpError('unauthenticated', 'missing Authorization: Bearer <token>');
    const auth = await resolveSession(ctx.handle.db, token);
    if (!auth) throw new HttpError('unauthenticated', 'the session has expired or is unknown; log in again');
    request.auth = auth;
  };
}

/** POST /api/auth/login: public. */
export function registerLoginRoute(app: FastifyInstance, ctx: BackendContext): void {
  const { db } = ctx.handle;
  app.post(API.login, async (request): Promise<LoginResponse> => {
    const body = parseRequest(LoginRequest, request.body, 'body');
    const tenant = await db.selectFrom('tenants').selectAll().where('slug', '=', body.tenant).executeTakeFirst();
    const userRow = tenant
      ? await db
          .selectFrom('users')
          .selectAll()
          .where('tenant_id', '=', tenant.id)
          .where('login', '=', body.login)
          .executeTakeFirst()
      : undefined;
    const usable = userRow && userRow.disabled === 0 ? userRow : undefined;
    const passwordOk = await ctx.passwords.verifyOrDecoy(usable?.password_hash ?? null, body.password);
    if (!tenant || !usable || !passwordOk) {
      if (tenant) {
        await recordAudit(db, {
          tenantId: tenant.id,
          userId: userRow?.id ?? null,
          action: 'login_failed',
          details: { login: body.login, ip: request.ip },
        });
      } else {
        request.log.warn({ tenant: body.tenant }, 'login for an unknown tenant');
      }
      throw new HttpError('unauthenticated', LOGIN_FAILED);
    }
    const session = await createSession(db, usable.id, tenant.id, ctx.config.sessionTtlHours);
    await recordAudit(db, { tenantId: tenant.id, userId: usable.id, action: 'login', details: { ip: request.ip } });
    return {
      token: session.token,
      expiresAt: session.expiresAt,
      user: toUser(usable),
      tenant: { id: tenant.id, name: tenant.name, defaultRegion: tenant.default_region },
    };
  });
}

/** Logout and me: inside the authenticated scope. */
export function registerSessionRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const { db } = ctx.handle;
  app.post(API.logout, async (request, reply: FastifyReply) => {
    const { tokenHash, user, tenant } = request.auth;
    await deleteSession(db, tokenHash);
    await recordAudit(db, { tenantId: tenant.id, userId: user.id, action: 'logout' });
    return reply.status(204).send();
  });
  app.get(API.me, async (request): Promise<MeResponse> => {
    const { user, tenant, expiresAt } = request.auth;
    return { user, tenant: { id: tenant.id, name: tenant.name, defaultRegion: tenant.defaultRegion }, expiresAt };
  });
}
