import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { User } from '../../../shared/domain.js';
import type { Database } from '../db/schema.js';
import { toUser } from '../users/users.js';

export interface TenantInfo {
  id: string;
  slug: string;
  name: string;
  defaultRegion: string;
}

/** Who is calling, resolved from the bearer token on every authenticated request. */
export interface AuthContext {
  user: User;
  tenant: TenantInfo;
  tokenHash: string;
  expiresAt: string;
}

/** The token is never stored: only its SHA-256, so a leaked sessions table opens no session. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createSession(
  db: Kysely<Database>,
  userId: string,
  tenantId: string,
  ttlHours: number,
): Promise<{ token: string; expiresAt: string }> {
  const token = randomBytes(32).toString('base64url');
  const now = new Date();
  const expiresAt = new Date(now.getTime() + ttlHours * 3_600_000).toISOString();
  await db
    .insertInto('sessions')
    .values({ token_hash: hashToken(token), user_id: userId, tenant_id: tenantId, created_at: now.toISOString(), expires_at: expiresAt })
    .execute();
  // Expired sessions of this user are of no use to anyone; login is a cheap moment to drop them.
  await db.deleteFrom('sessions').where('user_id', '=', userId).where('expires_at', '<=', now.toISOString()).execute();
  return { token, expiresAt };
}

/** The session of a token, or null when the token is unknown, expired, or its user is disabled. */
export function resolveSession(db: Kysely<Database>, token: string): Promise<AuthContext | null> {
  return resolveSessionByHash(db, hashToken(token));
}

export async function resolveSessionByHash(db: Kysely<Database>, tokenHash: string): Promise<AuthContext | null> {
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .innerJoin('tenants as t', 't.id', 's.tenant_id')
    .selectAll('u')
    .select(['s.expires_at', 't.slug as tenant_slug', 't.name as tenant_name', 't.default_region as tenant_region'])
    .where('s.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return null;
  if (row.expires_at <= new Date().toISOString()) {
    await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
    return null;
  }
  if (row.disabled !== 0) return null;
  return {
    user: toUser(row),
    tenant: { id: row.tenant_id, slug: row.tenant_slug, name: row.tenant_name, defaultRegion: row.tenant_region },
    tokenHash,
    expiresAt: row.expires_at,
  };
}

export async function deleteSession(db: Kysely<Database>, tokenHash: string): Promise<void> {
  await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
}
