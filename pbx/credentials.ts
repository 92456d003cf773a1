/**
 * Ephemeral SIP credentials as Kamailio's auth_ephemeral module checks them
 * (username_format 1, sha_algorithm 0): username "<expiry unix time>:<user>",
 * password base64(HMAC-SHA1(secret, username)). Whoever holds the secret can issue
 * them; the PBX needs no user database and the app never stores a SIP password.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { describeZodError } from '../shared/validation.js';

export interface SipCredentials {
  /** Digest username: "<expiresAt>:<user>". */
  username: string;
  password: string;
  /** Unix time in seconds after which the PBX refuses them (the number inside username). */
  expiresAt: number;
}

const MAX_TTL_SECONDS = 7 * 24 * 3600;

const issueSchema = z.object({
  secret: z.string().min(1, 'must not be empty'),
  // The SIP user part the client registers and calls as (From/To user). A colon
  // would make the username ambiguous; the rest keeps it a plain SIP user part.
  user: z.string().regex(/^[A-Za-z0-9._~+-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ ~ + -'),
  ttlSeconds: z.number().int().min(1).max(MAX_TTL_SECONDS),
  now: z.date().refine((d) => !Number.isNaN(d.getTime()), 'must be a valid date'),
});

export function issueSipCredentials(input: {
  secret: string;
  user: string;
  ttlSeconds: number;
  now: Date;
}): SipCredentials {
  const parsed = issueSchema.safeParse(input);
  if (!parsed.success) throw new Error(`issueSipCredentials: ${describeZodError(parsed.error)}`);
  const { secret, user, ttlSeconds, now } = parsed.data;
  const expiresAt = Math.floor(now.getTime() / 1000) + ttlSeconds;
  const username = `${expiresAt}:${user}`;
  const password = createHmac('sha1', secret).update(username).digest('base64');
  return { username, password, expiresAt };
}
