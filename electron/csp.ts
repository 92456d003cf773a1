/**
 * The Content-Security-Policy of the renderer's page, in both shells, built from the app's
 * settings: the page may connect only to the configured backend and the configured PBX (the
 * softphone's SIP WebSocket), and in the browser shell to its own loopback host. No remote
 * script, style, image or form target, no <base>, and no framing of the app by anyone.
 *
 * E-mail bodies are shown in sandboxed srcdoc frames with a stricter policy of their own
 * (renderer/src/mail/sanitize.ts). Important: a srcdoc frame inherits this policy on top of
 * its own, so whatever the mail frame may load must be allowed here too. Remote mail images
 * (after the operator clicks "show images") are therefore fetched by the core
 * (mail:remoteImage, electron/core/mail-images.ts) and shown as data: URLs: img-src admits
 * no http(s) at all. Media (call recordings) only from the backend.
 */

/** The dev PBX's WebSocket (pbx/, TSUNAGU_PBX_WS_PORT), which is also the backend's default TSUNAGU_SIP_WS_URL. */
export const DEFAULT_PBX_WS_URL = 'ws://127.0.0.1:5066';

export interface CspSources {
  /** TSUNAGU_BACKEND_URL: one URL or a comma-separated list of backend instances. */
  backendUrl: string;
  /** TSUNAGU_PBX_WS_URL: the PBX WebSocket(s) the softphone may reach. */
  pbxUrls: readonly string[];
  /** The browser shell's own origin (http://127.0.0.1:port), whose WebSocket carries IPC. */
  shellOrigin?: string;
}

/** scheme://host[:port] of a URL: a CSP host source that pins scheme, host and port. */
function sourceOf(url: string, schemes: readonly string[], what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what}: not a URL: ${JSON.stringify(url)}`);
  }
  if (!schemes.includes(parsed.protocol)) throw new Error(`${what}: must be a ${schemes.join(' or ')} URL, not ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new Error(`${what}: must not carry a user or password`);
  return `${parsed.protocol}//${parsed.host}`;
}

/**
 * TSUNAGU_PBX_WS_URL: one or more ws:// or wss:// URLs separated by commas (a PBX cluster
 * may answer on several names). Unset means the dev PBX on loopback.
 */
export function parsePbxUrls(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [DEFAULT_PBX_WS_URL];
  const urls = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  for (const url of urls) sourceOf(url, ['ws:', 'wss:'], 'TSUNAGU_PBX_WS_URL');
  if (urls.length === 0) throw new Error('TSUNAGU_PBX_WS_URL: no URL given');
  return urls;
}

export function rendererCsp(sources: CspSources): string {
  const connect = new Set(["'self'"]);
  const backends: string[] = [];
  for (const url of sources.backendUrl.split(',').map((part) => part.trim())) {
    const backend = sourceOf(url, ['http:', 'https:'], 'TSUNAGU_BACKEND_URL');
    backends.push(backend);
    connect.add(backend);
  }
  for (const url of sources.pbxUrls) connect.add(sourceOf(url, ['ws:', 'wss:'], 'TSUNAGU_PBX_WS_URL'));
  if (sources.shellOrigin) {
    const origin = new URL(sourceOf(sources.shellOrigin, ['http:'], 'browser shell origin'));
    // 'self' covers ws: to the same host in CSP level 3; named as well for older engines.
    connect.add(`ws://${origin.host}`);
  }
  return [
    "default-src 'self'",
    `connect-src ${[...connect].join(' ')}`,
    "img-src 'self' data: blob:",
    // Call recordings stream from the backend into an <audio> element (and are fetched from it
    // for their waveform: connect-src); nothing else plays from a URL (the phone uses srcObject).
    `media-src ${backends.join(' ')}`,
    "style-src 'self' 'unsafe-inline'",
    "script-src 'self'",
    "frame-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
