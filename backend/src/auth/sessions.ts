import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { User } from '../../../shared/domain.js';
import type { DatabaseHandle } from '../db/database.js';
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
  lastUsedAt: string;
  /**
   * Read in the same query as the session, when the request began: the tenant's change-log
   * position and the user's login before the newest (null: none). A pull uses them rather
   * than reading each again (bench:agents: three database round trips per pull became one).
   */
  readWithSession: { lastSeq: number; previousLoginAt: string | null };
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
    .values({
      token_hash: hashToken(token),
      user_id: userId,
      tenant_id: tenantId,
      created_at: now.toISOString(),
      expires_at: expiresAt,
      last_used_at: now.toISOString(),
    })
    .execute();
  // Expired sessions of this user are of no use to anyone; login is a cheap moment to drop them.
  await db.deleteFrom('sessions').where('user_id', '=', userId).where('expires_at', '<=', now.toISOString()).execute();
  return { token, expiresAt };
}

/** A request marks its session used at most this often: not one write per request. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * The session of a token, or null when the token is unknown, expired, unused for longer than
 * `idleMinutes`, or its user is disabled. A live session is marked used (coarsely), so the idle
 * clock restarts.
 */
export async function resolveSession(handle: DatabaseHandle, token: string, idleMinutes: number, now = new Date()): Promise<AuthContext | null> {
  const tokenHash = hashToken(token);
  const auth = await resolveSessionByHash(handle, tokenHash, { idleMinutes, now });
  if (!auth) return null;
  const lastUsed = Date.parse(auth.lastUsedAt);
  if (!(now.getTime() - lastUsed < TOUCH_INTERVAL_MS)) {
    await handle.db.updateTable('sessions').set({ last_used_at: now.toISOString() }).where('token_hash', '=', tokenHash).execute();
  }
  return auth;
}

/** The session of a token hash with what is read along with it (resolveSessionByHash). */
function buildSessionQuery(db: Kysely<Database>, tokenHash: string) {
  return db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .innerJoin('tenants as t', 't.id', 's.tenant_id')
    .selectAll('u')
    .select(['s.expires_at', 's.created_at as session_created_at', 's.last_used_at', 't.slug as tenant_slug', 't.name as tenant_name', 't.default_region as tenant_region'])
    .select('t.last_seq as tenant_last_seq')
    // As branch-calls/list.ts previousLoginAt reads it, on the same index.
    .select((eb) =>
      eb
        .selectFrom('audit_events as l')
        .select('l.at')
        .whereRef('l.tenant_id', '=', 's.tenant_id')
        .whereRef('l.user_id', '=', 's.user_id')
        .where('l.action', '=', 'login')
        .orderBy('l.at', 'desc')
        .limit(1)
        .offset(1)
        .as('previous_login_at'),
    )
    .where('s.token_hash', '=', tokenHash);
}

type SessionQuery = ReturnType<ReturnType<typeof buildSessionQuery>['compile']>;

/** Stands for the token hash in the session query compiled once (never a SHA-256 in hex). */
const TOKEN_HASH_STAND_IN = '\u0000token hash';
const compiledSessionQueries = new WeakMap<Kysely<Database>, SessionQuery>();

/**
 * The session query of `tokenHash`, compiled once per database: building and compiling it took
 * about as long as the rest of the request's authentication (bench:agents profile). Only the
 * token hash varies; its stand-in is replaced among the parameters.
 */
function sessionQuery(db: Kysely<Database>, tokenHash: string): SessionQuery {
  let compiled = compiledSessionQueries.get(db);
  if (!compiled) {
    compiled = buildSessionQuery(db, TOKEN_HASH_STAND_IN).compile();
    compiledSessionQueries.set(db, compiled);
  }
  return { ...compiled, parameters: compiled.parameters.map((parameter) => (parameter === TOKEN_HASH_STAND_IN ? tokenHash : parameter)) };
}

/**
 * The session of a token hash. Without `idleMinutes` only the absolute lifetime counts (the SSE
 * ping's check: an open stream belongs to an app whose heartbeats keep the session used).
 */
export async function resolveSessionByHash(
  handle: DatabaseHandle,
  tokenHash: string,
  options: { idleMinutes?: number; now?: Date } = {},
): Promise<AuthContext | null> {
  const now = options.now ?? new Date();
  const query = sessionQuery(handle.db, tokenHash);
  // Every authenticated request reads its session: prepared on PostgreSQL, whose parse and plan
  // of this join cost about a millisecond each time.
  const row = handle.dialect === 'postgres' ? (await handle.prepared(query))[0] : (await handle.db.executeQuery(query)).rows[0];
  if (!row) return null;
  const lastUsedAt = row.last_used_at ?? row.session_created_at;
  const idle = options.idleMinutes !== undefined && Date.parse(lastUsedAt) + options.idleMinutes * 60_000 <= now.getTime();
  if (row.expires_at <= now.toISOString() || idle) {
    await handle.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
    return null;
  }
  if (row.disabled !== 0) return null;
  return {
    user: toUser(row),
    tenant: { id: row.tenant_id, slug: row.tenant_slug, name: row.tenant_name, defaultRegion: row.tenant_region },
    tokenHash,
    expiresAt: row.expires_at,
    lastUsedAt,
    readWithSession: { lastSeq: Number(row.tenant_last_seq), previousLoginAt: row.previous_login_at ?? null },
  };
}

export async function deleteSession(db: Kysely<Database>, tokenHash: string): Promise<void> {
  await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
}
