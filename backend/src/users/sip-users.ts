import { sql, type Transaction } from 'kysely';
import { mayAssignSipUser } from '../../../shared/sip-identity.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { userConsoleTrx } from './schema.js';

/**
 * Who may take a SIP user. It names one phone on a PBX that every tenant shares, and the PBX
 * routes calls to whoever registered with it, so a SIP user goes to one user only, and one
 * taken away from its holder goes to nobody else until that holder's last credentials expired.
 */
export interface SipUserClaim {
  sipUser: string;
  /** The user who gets it. */
  userId: string;
  tenantSlug: string;
  /** How long issued SIP credentials stay valid (TSUNAGU_SIP_CREDENTIAL_TTL_SECONDS). */
  credentialTtlSeconds: number;
  /** false for the tenant-qualified SIP user derived from a login, which always fits the namespace. */
  typed: boolean;
  now: Date;
}

/** Refuses the claim with an error naming `body.sipUser` (400 outside the tenant's namespace, 409 taken or cooling down). */
export async function assertSipUserAvailable(trx: Transaction<Database>, claim: SipUserClaim): Promise<void> {
  const key = claim.sipUser.toLowerCase();
  if (claim.typed && !mayAssignSipUser(claim.sipUser, claim.tenantSlug)) {
    throw new HttpError('invalid_input', `body.sipUser: must be an extension without a dot (a-z 0-9 _ ~ + -) or end in .${claim.tenantSlug}`);
  }
  const holder = await trx
    .selectFrom('users')
    .select('id')
    .where(sql`lower(sip_user)`, '=', key)
    .where('id', '!=', claim.userId)
    .executeTakeFirst();
  // Important: the holder may be another tenant's user; the message names no one.
  if (holder) throw new HttpError('conflict', `body.sipUser: ${claim.sipUser} is already in use on the PBX`);
  const release = await userConsoleTrx(trx).selectFrom('sip_user_releases').selectAll().where('sip_user', '=', key).executeTakeFirst();
  if (!release || release.released_by_user_id === claim.userId) return;
  const freeAt = new Date(Date.parse(release.released_at) + claim.credentialTtlSeconds * 1000);
  if (freeAt > claim.now) {
    throw new HttpError(
      'conflict',
      `body.sipUser: ${claim.sipUser} was taken from its previous holder at ${release.released_at}; their phone may use it until ${freeAt.toISOString()}, assign it after that`,
    );
  }
}

/** Notes that `userId` no longer holds `sipUser` (see assertSipUserAvailable). */
export async function recordSipUserRelease(trx: Transaction<Database>, sipUser: string, userId: string, now: Date): Promise<void> {
  const row = { sip_user: sipUser.toLowerCase(), released_by_user_id: userId, released_at: now.toISOString() };
  await userConsoleTrx(trx)
    .insertInto('sip_user_releases')
    .values(row)
    .onConflict((conflict) => conflict.column('sip_user').doUpdateSet({ released_by_user_id: row.released_by_user_id, released_at: row.released_at }))
    .execute();
}
