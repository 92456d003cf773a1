import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API, LoginRequest, type LoginResponse, type MeResponse } from '../../../shared/api.js';
import { recordAudit } from '../audit.js';
import type { BackendContext } from '../context.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { toUser } from '../users/users.js';
import { createSession, deleteSession, resolveSession, type AuthContext } from './sessions.js';
import { throttleKeys } from './throttle.js';
import { WorkQueueFullError } from './work-limiter.js';

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
    const auth = await resolveSession(ctx.handle, token, ctx.config.sessionIdleMinutes);
    if (!auth) throw new HttpError('unauthenticated', 'the session has expired or is unknown; log in again');
    request.auth = auth;
  };
}

function waitMessage(seconds: number): string {
  return `too many failed sign-ins; try again in ${seconds} s`;
}

/**
 * POST /api/auth/login: public, so it is throttled three ways. A coarse per-address request
 * limit (@fastify/rate-limit, in this instance's memory, before the body is even read) stops
 * floods cheaply; the login throttle (throttle.ts, in the database, shared by every instance)
 * delays and then locks an account or an address after failed attempts; and password checks
 * run through a bounded line, so no flood can take the thread pool argon2 shares.
 * Every refused or failed attempt of a known tenant is audited as `login_failed` with a reason.
 */
export function registerLoginRoute(app: FastifyInstance, ctx: BackendContext): void {
  const { db } = ctx.handle;
  const auditFailure = async (tenantId: string, userId: string | null, details: Record<string, unknown>) =>
    recordAudit(db, { tenantId, userId, action: 'login_failed', details });

  app.register(async (scope) => {
    await scope.register(rateLimit, {
      max: ctx.config.login.requestsPerMinute,
      timeWindow: 60_000,
      errorResponseBuilder: (_request, context) => {
        const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
        return new HttpError('rate_limited', `too many sign-in requests from this address; try again in ${seconds} s`, seconds);
      },
    });
    scope.post(API.login, async (request): Promise<LoginResponse> => {
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
      const keys = throttleKeys(body.tenant, body.login, request.ip);
      const admission = await ctx.throttle.admit(keys);
      if (!admission.admitted) {
        if (tenant) {
          await auditFailure(tenant.id, userRow?.id ?? null, {
            login: body.login,
            ip: request.ip,
            reason: 'throttled',
            lockedKey: admission.lockedKey,
            retryAfterSeconds: admission.retryAfterSeconds,
          });
        }
        throw new HttpError('rate_limited', waitMessage(admission.retryAfterSeconds), admission.retryAfterSeconds);
      }
      const usable = userRow && userRow.disabled === 0 ? userRow : undefined;
      let passwordOk: boolean;
      try {
        passwordOk = await ctx.passwords.verifyOrDecoy(usable?.password_hash ?? null, body.password);
      } catch (error) {
        if (!(error instanceof WorkQueueFullError)) throw error;
        await ctx.throttle.withdrawn(keys);
        if (tenant) await auditFailure(tenant.id, userRow?.id ?? null, { login: body.login, ip: request.ip, reason: 'busy' });
        throw new HttpError('rate_limited', 'the server is checking many sign-ins right now; try again in 1 s', 1);
      }
      if (!tenant || !usable || !passwordOk) {
        if (tenant) {
          const reason = !userRow ? 'unknown_login' : !usable ? 'disabled' : 'wrong_password';
          await auditFailure(tenant.id, userRow?.id ?? null, { login: body.login, ip: request.ip, reason });
        } else {
          request.log.warn({ tenant: body.tenant }, 'login for an unknown tenant');
        }
        throw new HttpError('unauthenticated', LOGIN_FAILED);
      }
      await ctx.throttle.succeeded(keys);
      const session = await createSession(db, usable.id, tenant.id, ctx.config.sessionTtlHours);
      await recordAudit(db, { tenantId: tenant.id, userId: usable.id, action: 'login', details: { ip: request.ip } });
      return {
        token: session.token,
        expiresAt: session.expiresAt,
        user: toUser(usable),
        tenant: { id: tenant.id, name: tenant.name, defaultRegion: tenant.default_region },
      };
    });
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
