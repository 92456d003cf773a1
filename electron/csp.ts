/**
 * The Content-Security-Policy of the renderer, in both shells. No remote script, style or
 * connection: the renderer talks to the core over IPC (Electron) or the loopback WebSocket
 * (browser shell); e-mail bodies are shown in sandboxed srcdoc frames with a stricter policy of their own.
 */
export const RENDERER_CSP = [
  "default-src 'self'",
  // wss: is the customer's PBX (sip.js runs in the renderer); ws:// only on loopback (dev PBX).
  "connect-src 'self' ws://127.0.0.1:* http://127.0.0.1:* wss:",
  // Remote images only for e-mail frames: a srcdoc frame inherits this policy on top of its own,
  // whose img-src allows remote images only after the user clicks "show images" (renderer/src/mail).
  "img-src 'self' data: https: http:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "frame-src 'self' blob:",
  "object-src 'none'",
].join('; ');
