/**
 * Who an operator is on the PBX. One PBX serves several tenants and its registrar knows SIP
 * users only, so a SIP user names exactly one user of one tenant (the backend's database holds
 * a unique index on it). Two kinds exist, in namespaces that cannot overlap:
 * - tenant-qualified, the default: `<login>.<tenant slug>`, lower case, e.g. `agent1.demo`;
 *   the slug has no dot, so the last dot splits it;
 * - an extension an admin assigns (a desk phone's `2001`): a SIP user part without a dot.
 * The backend, the seed, the scripts and the tests all derive SIP users here.
 */

/** A SIP user part as this product writes one: RFC 3261 unreserved characters, no escapes. */
export const SIP_USER_PATTERN = /^[A-Za-z0-9._~+-]{1,128}$/;

/** An admin-assigned extension: a SIP user part without a dot. */
const EXTENSION_PATTERN = /^[A-Za-z0-9_~+-]{1,64}$/;
/** The tenant part of a qualified SIP user: no dot, so it is always the text after the last one. */
const TENANT_QUALIFIER_PATTERN = /^[A-Za-z0-9_~+-]{1,63}$/;

/**
 * The tenant-qualified SIP user of a login, or null when the login or slug holds characters a
 * SIP user part may not (an e-mail login, for instance): such a user needs an extension.
 * Lower case, because PBXs differ on whether user parts are case-sensitive.
 */
export function tenantSipUser(login: string, tenantSlug: string): string | null {
  if (!TENANT_QUALIFIER_PATTERN.test(tenantSlug)) return null;
  const candidate = `${login}.${tenantSlug}`.toLowerCase();
  return SIP_USER_PATTERN.test(candidate) ? candidate : null;
}

/** Whether `value` may be assigned as an extension (it can never equal a tenant-qualified SIP user). */
export function isExtension(value: string): boolean {
  return EXTENSION_PATTERN.test(value);
}

/**
 * Whether an admin of the tenant `tenantSlug` may assign `sipUser`: an extension, or a user
 * part in the tenant's own namespace (`<anything>.<slug>`). Important: a dotted value naming
 * another tenant's slug is refused even when free, so the namespaces never overlap.
 */
export function mayAssignSipUser(sipUser: string, tenantSlug: string): boolean {
  if (!SIP_USER_PATTERN.test(sipUser)) return false;
  if (isExtension(sipUser)) return true;
  const suffix = `.${tenantSlug}`.toLowerCase();
  const value = sipUser.toLowerCase();
  return value.endsWith(suffix) && value.length > suffix.length && !value.startsWith('.');
}
