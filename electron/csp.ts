/**
 * The Content-Security-Policy of the renderer, in both shells. No remote script, style or
 * connection: the renderer talks to the core over IPC (Electron) or the loopback WebSocket
 * (browser shell); e-mail bodies are shown in sandboxed frames (blob:).
 */
export const RENDERER_CSP = [
  "default-src 'self'",
  "connect-src 'self' ws://127.0.0.1:* http://127.0.0.1:*",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "frame-src 'self' blob:",
  "object-src 'none'",
].join('; ');
