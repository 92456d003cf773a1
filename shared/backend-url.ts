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

/**
 * TSUNAGU_BACKEND_URL: one backend URL, or several separated by commas, for backend instances
 * on one shared database (issue 13 item 6). The app talks to one at a time and moves to the
 * next when it cannot reach it. Each URL must pass checkBackendUrl, carry no user, password,
 * query or fragment, and appear once. Returns the URLs without a trailing slash, in order.
 */
export function parseBackendUrls(value: string): { ok: true; urls: string[] } | { ok: false; message: string } {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.every((part) => part === '')) return { ok: false, message: 'backend URL: none given' };
  const urls: string[] = [];
  for (const [index, part] of parts.entries()) {
    const which = parts.length > 1 ? `backend URL ${index + 1} of ${parts.length}` : 'backend URL';
    if (part === '') return { ok: false, message: `${which} is empty (two commas in a row, or a comma at the end?)` };
    const checked = checkBackendUrl(part);
    if (!checked.ok) return { ok: false, message: parts.length > 1 ? `${which}: ${checked.message}` : checked.message };
    const { url } = checked;
    if (url.username || url.password) return { ok: false, message: `${which} ${url.origin} must not carry a user name or password` };
    if (url.search || url.hash) return { ok: false, message: `${which} ${url.origin}${url.pathname} must not carry a query or fragment` };
    const normal = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
    if (urls.includes(normal)) return { ok: false, message: `${which}: ${normal} is listed twice` };
    urls.push(normal);
  }
  return { ok: true, urls };
}
