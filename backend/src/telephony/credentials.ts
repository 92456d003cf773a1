import type { Kysely } from 'kysely';
import type { SipCredentials } from '../../../shared/ipc.js';
import { SIP_USER_PATTERN } from '../../../shared/sip-identity.js';
import { issueSipCredentials } from '../../../pbx/credentials.js';
import type { AuthContext } from '../auth/sessions.js';
import type { TelephonyConfig } from '../config.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';

/**
 * The SIP user of a user: `users.sip_user`, unique across the PBX. Important: never the login,
 * which is unique only within a tenant (another tenant's agent1 would get the same phone).
 */
export function sipUserOf(row: { sip_user: string | null }): string | null {
  return row.sip_user !== null && SIP_USER_PATTERN.test(row.sip_user) ? row.sip_user : null;
}

/**
 * Short-lived credentials for the user's SIP account, checked by the PBX with the shared
 * secret (autheph). Nothing is stored: they are derived again on every call.
 */
export async function issueCredentialsFor(
  db: Kysely<Database>,
  config: TelephonyConfig & { sipSecret: string },
  auth: AuthContext,
  now: Date = new Date(),
): Promise<SipCredentials> {
  const row = await db
    .selectFrom('users')
    .select(['display_name', 'sip_user', 'disabled'])
    .where('tenant_id', '=', auth.tenant.id)
    .where('id', '=', auth.user.id)
    .executeTakeFirst();
  // The session check already refuses disabled users; this holds even if that ever changes.
  if (!row || row.disabled !== 0) throw new HttpError('forbidden', 'this user is disabled and may not use the phone');
  const user = sipUserOf(row);
  if (user === null) {
    throw new HttpError('conflict', 'this user has no SIP user (their login cannot be one): an admin must assign an extension (letters, digits, _ ~ + -)');
  }
  const issued = issueSipCredentials({ secret: config.sipSecret, user, ttlSeconds: config.credentialTtlSeconds, now });
  return {
    wsUrl: config.sipWsUrl,
    aor: `sip:${user}@${config.sipDomain}`,
    username: issued.username,
    password: issued.password,
    expiresAt: new Date(issued.expiresAt * 1000).toISOString(),
    displayName: row.display_name,
  };
}
