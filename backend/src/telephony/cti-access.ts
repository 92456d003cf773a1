import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { HttpError } from '../http/errors.js';

/**
 * Which PBX is calling the CTI routes, and which tenants it may act for. Each PBX has its own
 * bearer token, configured as its SHA-256 only (TSUNAGU_CTI_PBXES), so neither the config file
 * nor a copy of it can be replayed against the API. A token is random and long, so a plain
 * hash is enough: nobody can guess their way through it as through a password.
 */
export interface CtiPbx {
  /** A name for messages and the audit trail; never the token. */
  id: string;
  /** Slugs of the tenants whose calls this PBX routes and reports. */
  tenants: readonly string[];
  /** SHA-256 of the token, 64 lower-case hex digits. */
  tokenSha256: string;
}

const CtiPbxSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 . _ -'),
    tenants: z.array(z.string().trim().min(1).max(100), { error: 'must be a list of tenant slugs' }).min(1, 'must name at least one tenant'),
    tokenSha256: z
      .string({ error: 'must be the SHA-256 of the PBX token (64 hex digits)' })
      .regex(/^[0-9A-Fa-f]{64}$/, 'must be the SHA-256 of the PBX token (64 hex digits), not the token')
      .transform((value) => value.toLowerCase()),
  })
  .strict();

export const CtiPbxList = z
  .array(CtiPbxSchema, { error: 'must be a JSON list of {"id", "tenants", "tokenSha256"}' })
  .refine((list) => new Set(list.map((pbx) => pbx.id)).size === list.length, 'PBX ids must be unique')
  .refine((list) => new Set(list.map((pbx) => pbx.tokenSha256)).size === list.length, 'each PBX needs a token of its own');

/** The SHA-256 a PBX's token is configured as (what `printf %s "$TOKEN" | sha256sum` prints). */
export function ctiTokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The PBX whose token this is, or null. Every configured digest is compared, in constant time,
 * so the answer takes as long whichever PBX (if any) matched.
 */
export function pbxOfToken(pbxes: readonly CtiPbx[], token: string): CtiPbx | null {
  const presented = createHash('sha256').update(token, 'utf8').digest();
  let found: CtiPbx | null = null;
  for (const pbx of pbxes) {
    if (timingSafeEqual(presented, Buffer.from(pbx.tokenSha256, 'hex')) && found === null) found = pbx;
  }
  return found;
}

/**
 * Refuses a tenant the PBX does not serve, before anything looks the tenant up: the answer is
 * the same whether that tenant exists or not.
 */
export function assertServes(pbx: CtiPbx, tenantSlug: string): void {
  if (!pbx.tenants.includes(tenantSlug)) {
    throw new HttpError('forbidden', `tenant: the PBX "${pbx.id}" does not serve this tenant`);
  }
}
