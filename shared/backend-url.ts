/**
 * The rule for which backend the app may talk to: https, or plain http only on this machine's
 * loopback (development, tests, the demo). Anything else would carry the session token and
 * customer data in clear text over a network.
 */
export function checkBackendUrl(url: string): { ok: true; url: URL } | { ok: false; message: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, message: `backend URL ${JSON.stringify(url)} is not an absolute URL` };
  }
  if (parsed.protocol === 'https:') return { ok: true, url: parsed };
  if (parsed.protocol !== 'http:') {
    return { ok: false, message: `backend URL ${parsed.origin || url}: the scheme must be https (was ${parsed.protocol})` };
  }
  if (isLoopbackHost(parsed.hostname)) return { ok: true, url: parsed };
  return {
    ok: false,
    message: `backend URL ${parsed.origin} must use https; plain http is allowed only on loopback (127.0.0.1, ::1, localhost)`,
  };
}

/** Hostnames that never leave the machine: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '[::1]' || host === '::1') return true;
  const octets = host.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255);
}
