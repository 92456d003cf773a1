import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { issueSipCredentials } from './credentials.js';

/** The autheph password computed by OpenSSL, independently of node:crypto. */
function opensslPassword(secret: string, username: string): string {
  const mac = execFileSync('openssl', ['dgst', '-sha1', '-hmac', secret, '-binary'], { input: username });
  return execFileSync('openssl', ['base64', '-A'], { input: mac }).toString('utf8').trim();
}

describe('issueSipCredentials', () => {
  const now = new Date('2026-03-01T09:00:00.500Z');

  it('issues "<expiry>:<user>" with base64(HMAC-SHA1(secret, username)) as autheph expects', () => {
    const credentials = issueSipCredentials({ secret: 'dev-secret-0123456789', user: 'agent-7', ttlSeconds: 600, now });
    const expiresAt = Math.floor(now.getTime() / 1000) + 600;
    expect(credentials.expiresAt).toBe(expiresAt);
    expect(credentials.username).toBe(`${expiresAt}:agent-7`);
    expect(credentials.password).toBe(opensslPassword('dev-secret-0123456789', credentials.username));
  });

  it('gives different passwords for different secrets and users', () => {
    const a = issueSipCredentials({ secret: 'secret-one-0123456', user: '+81312345678', ttlSeconds: 60, now });
    const b = issueSipCredentials({ secret: 'secret-two-0123456', user: '+81312345678', ttlSeconds: 60, now });
    const c = issueSipCredentials({ secret: 'secret-one-0123456', user: '+81312345679', ttlSeconds: 60, now });
    expect(new Set([a.password, b.password, c.password]).size).toBe(3);
    expect(a.password).toBe(opensslPassword('secret-one-0123456', a.username));
  });

  it.each([
    [{ secret: '', user: 'agent', ttlSeconds: 60 }, 'secret'],
    [{ secret: 's', user: 'agent:1', ttlSeconds: 60 }, 'user'],
    [{ secret: 's', user: 'agent@example', ttlSeconds: 60 }, 'user'],
    [{ secret: 's', user: '', ttlSeconds: 60 }, 'user'],
    [{ secret: 's', user: 'agent', ttlSeconds: 0 }, 'ttlSeconds'],
    [{ secret: 's', user: 'agent', ttlSeconds: 1.5 }, 'ttlSeconds'],
    [{ secret: 's', user: 'agent', ttlSeconds: 30 * 24 * 3600 }, 'ttlSeconds'],
  ])('refuses bad input %j, naming the field', (input, field) => {
    expect(() => issueSipCredentials({ ...input, now })).toThrow(new RegExp(`\\b${field}\\b`));
  });

  it('refuses an invalid date', () => {
    expect(() => issueSipCredentials({ secret: 's', user: 'agent', ttlSeconds: 60, now: new Date('nope') })).toThrow(/\bnow\b/);
  });
});
