import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { PORTAL_CSRF_HEADER, portalBase, type PortalSession } from '../../../shared/portal.js';
import { hashToken } from '../auth/sessions.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { portalDb } from './schema.js';

/**
 * Portal sessions: an HttpOnly, SameSite=Strict cookie scoped to `/portal/<tenant>/`, looked up
 * in `portal_sessions` only. Staff sessions live in `sessions` and come as a bearer token, so
 * neither kind can open the other's routes (tested both ways in portal.test.ts).
 */

export const PORTAL_COOKIE = 'tsunagu_portal';
const SESSION_HOURS = 8;

export interface PortalAuth {
  tenantId: string;
  tenantSlug: string;
  tenantName: string;
  customerId: string;
  customerCode: string;
  customerName: string;
  rank: number;
  csrfToken: string;
  expiresAt: string;
  tokenHash: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the portal's session hook on the portal's authenticated routes. */
    portal: PortalAuth;
  }
}

function cookieToken(request: FastifyRequest): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === PORTAL_COOKIE) return rest.join('=') || null;
  }
  return null;
}

export async function createPortalSession(
  db: Kysely<Database>,
  reply: FastifyReply,
  request: FastifyRequest,
  tenant: { id: string; slug: string },
  customerId: string,
): Promise<void> {
  const token = randomBytes(32).toString('base64url');
  const now = new Date();
  const expiresAt = new Date(now.getTime() + SESSION_HOURS * 3_600_000).toISOString();
  await portalDb(db)
    .insertInto('portal_sessions')
    .values({
      token_hash: hashToken(token),
      tenant_id: tenant.id,
      customer_id: customerId,
      csrf_token: randomBytes(24).toString('base64url'),
      created_at: now.toISOString(),
      expires_at: expiresAt,
    })
    .execute();
  await portalDb(db).deleteFrom('portal_sessions').where('customer_id', '=', customerId).where('expires_at', '<=', now.toISOString()).execute();
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'set-cookie',
    `${PORTAL_COOKIE}=${token}; Path=${portalBase(tenant.slug)}/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_HOURS * 3600}${secure}`,
  );
  // The session routes answer with the new session; the hook would not have run for a login.
  request.portal = (await resolvePortalSession(db, tenant.slug, token))!;
}

export function clearPortalCookie(reply: FastifyReply, tenantSlug: string): void {
  reply.header('set-cookie', `${PORTAL_COOKIE}=; Path=${portalBase(tenantSlug)}/; HttpOnly; SameSite=Strict; Max-Age=0`);
}

export async function resolvePortalSession(db: Kysely<Database>, tenantSlug: string, token: string): Promise<PortalAuth | null> {
  const tokenHash = hashToken(token);
  const row = await portalDb(db)
    .selectFrom('portal_sessions as s')
    .innerJoin('tenants as t', 't.id', 's.tenant_id')
    .innerJoin('customers as c', 'c.id', 's.customer_id')
    .leftJoin('portal_accounts as a', 'a.customer_id', 's.customer_id')
    .select(['s.tenant_id', 's.customer_id', 's.csrf_token', 's.expires_at', 't.slug', 't.name as tenant_name', 'c.code', 'c.name', 'a.rank'])
    .where('s.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row || row.slug !== tenantSlug) return null;
  if (row.expires_at <= new Date().toISOString()) {
    await portalDb(db).deleteFrom('portal_sessions').where('token_hash', '=', tokenHash).execute();
    return null;
  }
  return {
    tenantId: row.tenant_id,
    tenantSlug: row.slug,
    tenantName: row.tenant_name,
    customerId: row.customer_id,
    customerCode: row.code,
    customerName: row.name,
    rank: row.rank ?? 1,
    csrfToken: row.csrf_token,
    expiresAt: row.expires_at,
    tokenHash,
  };
}

/** The hook of the portal's signed-in routes: the cookie's session of this tenant, and the CSRF header on writes. */
export function portalSessionHook(db: Kysely<Database>) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = cookieToken(request);
    const tenant = (request.params as { tenant?: string }).tenant ?? '';
    const auth = token ? await resolvePortalSession(db, tenant, token) : null;
    if (!auth) throw new HttpError('unauthenticated', 'not signed in to the portal (or the session ended); sign in again');
    if (request.method !== 'GET' && request.method !== 'HEAD' && request.headers[PORTAL_CSRF_HEADER] !== auth.csrfToken) {
      throw new HttpError('forbidden', `${PORTAL_CSRF_HEADER}: missing or wrong CSRF token`);
    }
    request.portal = auth;
  };
}

export function toPortalSession(auth: PortalAuth): PortalSession {
  return {
    customer: { code: auth.customerCode, name: auth.customerName, rank: auth.rank },
    tenant: { slug: auth.tenantSlug, name: auth.tenantName },
    csrfToken: auth.csrfToken,
    expiresAt: auth.expiresAt,
  };
}
