import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  SHELL_CLOSE_TAKEN_OVER,
  SHELL_CLOSE_UNAUTHORISED,
  ShellHelloFrame,
  ShellLaunchUrlFrame,
  ShellRequestFrame,
  type ShellEventFrame,
  type ShellResponseFrame,
  type ShellWelcomeFrame,
} from '../../shared/ipc.js';
import { fail, ok } from '../../shared/result.js';
import { describeZodError } from '../../shared/validation.js';
import type { Core } from '../core/core.js';
import type { Logger } from '../core/logger.js';
import { rendererCsp, type CspSources } from '../csp.js';
import { resolveStaticFile } from '../static-files.js';

/** What one window talks to: its own core (session, cache, sync, phone credentials). */
export type WindowCore = Pick<Core, 'invoke' | 'onEvent' | 'dispose'>;

export interface BrowserShellHostOptions {
  /** Called once per new window; the host disposes the core when the window is gone. */
  openWindowCore: () => WindowCore;
  /** The built renderer (index.html and its assets). */
  staticDir: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Loopback only: the socket is guarded by the secrets, but nobody else should even see it. */
  host?: '127.0.0.1';
  logger?: Logger;
  /** Where the page may connect besides this host: the configured backend and PBX. */
  connectTo: Omit<CspSources, 'shellOrigin'>;
  /** How long a launch code stays valid when no window presents it. */
  launchCodeTtlMs?: number;
  /** How long a window's core waits for its window to reconnect (a reload) before it is closed. */
  windowGraceMs?: number;
}

export interface BrowserShellHost {
  origin: string;
  /**
   * A URL that opens one new window: `origin/#launch=CODE`. The code is single-use and
   * short-lived, and it is not the window's secret, so the URL may appear in a process list.
   */
  newLaunchUrl(): string;
  /** Windows with a session on this host (attached or waiting for a reload). */
  windowCount(): number;
  close(): Promise<void>;
}

const IPC_PATH = '/ipc';
/** A socket that has not said hello by then is closed. */
const HELLO_TIMEOUT_MS = 10_000;
/** Notes are at most 20,000 characters; nothing legitimate comes near this. */
const MAX_FRAME_BYTES = 1024 * 1024;
const DEFAULT_LAUNCH_CODE_TTL_MS = 10 * 60_000;
const DEFAULT_WINDOW_GRACE_MS = 60_000;
/** Unspent codes a misbehaving page could pile up by asking for new windows. */
const MAX_OPEN_LAUNCH_CODES = 20;

/** Besides these, every response carries the page's CSP (built once the port is known). */
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-cache',
};

interface WindowSession {
  secretDigest: Buffer;
  core: WindowCore;
  socket: WebSocket | null;
  unsubscribe: () => void;
  graceTimer: NodeJS.Timeout | null;
}

/**
 * The browser shell's host: serves the built renderer and carries the core's IPC contract
 * over a loopback WebSocket (frames in shared/ipc.ts). Each window gets its own core, so a
 * supervisor and an operator can work side by side on one machine, and a window can only
 * ever reach its own session. A socket must come from this host's own origin and open with a
 * one-time launch code or its window's secret; other local programs and web pages get
 * nothing but the static files.
 */
export async function startBrowserShellHost(options: BrowserShellHostOptions): Promise<BrowserShellHost> {
  const host = options.host ?? '127.0.0.1';
  const log = options.logger;
  const launchCodeTtlMs = options.launchCodeTtlMs ?? DEFAULT_LAUNCH_CODE_TTL_MS;
  const windowGraceMs = options.windowGraceMs ?? DEFAULT_WINDOW_GRACE_MS;
  /** Digest of an unspent code → when it stops being valid; looked up by digest, so no comparison leaks a code's prefix. */
  const launchCodes = new Map<string, number>();
  const windows = new Set<WindowSession>();
  const attached = new Map<WebSocket, WindowSession>();
  let origin = '';
  let csp = '';
  let closing = false;

  const server = http.createServer((request, response) => {
    response.setHeader('content-security-policy', csp);
    if (request.headers.host !== new URL(origin).host) {
      // A page on another name resolving to 127.0.0.1 (DNS rebinding) gets nothing.
      return sendText(response, 421, 'Misdirected request');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return sendText(response, 405, 'Method not allowed');
    }
    serveStatic(options.staticDir, request, response);
  });

  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  server.on('upgrade', (request, socket, head) => {
    const pathname = new URL(request.url ?? '/', origin).pathname;
    if (closing || pathname !== IPC_PATH || request.headers.origin !== origin || request.headers.host !== new URL(origin).host) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => accept(ws));
  });

  function newLaunchUrl(): string {
    const now = Date.now();
    for (const [digest, expires] of launchCodes) if (expires <= now) launchCodes.delete(digest);
    while (launchCodes.size >= MAX_OPEN_LAUNCH_CODES) launchCodes.delete(launchCodes.keys().next().value!);
    const code = randomBytes(32).toString('base64url');
    launchCodes.set(digestOf(code).toString('hex'), now + launchCodeTtlMs);
    return `${origin}/#launch=${code}`;
  }

  function spendLaunchCode(code: string): boolean {
    const key = digestOf(code).toString('hex');
    const expires = launchCodes.get(key);
    launchCodes.delete(key);
    return expires !== undefined && expires > Date.now();
  }

  function findWindow(secret: string): WindowSession | null {
    const digest = digestOf(secret);
    for (const session of windows) if (timingSafeEqual(session.secretDigest, digest)) return session;
    return null;
  }

  function openWindow(): { session: WindowSession; secret: string } {
    const secret = randomBytes(32).toString('base64url');
    const core = options.openWindowCore();
    const session: WindowSession = { secretDigest: digestOf(secret), core, socket: null, unsubscribe: () => {}, graceTimer: null };
    session.unsubscribe = core.onEvent((event, payload) => {
      if (session.socket) send(session.socket, { event, payload } satisfies ShellEventFrame);
    });
    windows.add(session);
    log?.info('browser shell: a new window opened', { windows: windows.size });
    return { session, secret };
  }

  function attach(ws: WebSocket, session: WindowSession): void {
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.graceTimer = null;
    const previous = session.socket;
    session.socket = ws;
    attached.set(ws, session);
    if (previous) {
      attached.delete(previous);
      previous.close(SHELL_CLOSE_TAKEN_OVER, 'this window continues in another tab');
    }
  }

  function detach(ws: WebSocket): void {
    const session = attached.get(ws);
    attached.delete(ws);
    if (!session || session.socket !== ws) return;
    session.socket = null;
    if (closing) return;
    // A reload reconnects within moments; a closed window never does.
    session.graceTimer = setTimeout(() => void closeWindow(session), windowGraceMs);
    session.graceTimer.unref();
  }

  async function closeWindow(session: WindowSession): Promise<void> {
    if (!windows.delete(session)) return;
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.unsubscribe();
    session.socket?.close(1001, 'shutting down');
    await session.core.dispose().catch((error: unknown) => {
      log?.error('browser shell: a window\'s core did not close cleanly', { error: error instanceof Error ? error.message : String(error) });
    });
    if (!closing) log?.info('browser shell: a window closed', { windows: windows.size });
  }

  function accept(ws: WebSocket): void {
    const helloTimer = setTimeout(() => ws.close(SHELL_CLOSE_UNAUTHORISED, 'hello expected'), HELLO_TIMEOUT_MS);
    let greeted = false;
    ws.on('close', () => {
      clearTimeout(helloTimer);
      detach(ws);
    });
    ws.on('error', (error) => log?.warn('browser shell socket error', { error: error.message }));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return ws.close(1003, 'text frames only');
      const frame = parseJson(data.toString());
      if (!greeted) {
        greeted = true;
        clearTimeout(helloTimer);
        return hello(ws, frame);
      }
      const session = attached.get(ws);
      if (!session) return ws.close(SHELL_CLOSE_UNAUTHORISED, 'unauthorised');
      const launch = ShellLaunchUrlFrame.safeParse(frame);
      if (launch.success) return send(ws, { id: launch.data.id, result: ok({ url: newLaunchUrl() }) });
      void answer(ws, session, frame);
    });
  }

  function hello(ws: WebSocket, frame: unknown): void {
    const parsed = ShellHelloFrame.safeParse(frame);
    if (!parsed.success) return ws.close(SHELL_CLOSE_UNAUTHORISED, 'unauthorised');
    if ('launchCode' in parsed.data) {
      if (!spendLaunchCode(parsed.data.launchCode)) return ws.close(SHELL_CLOSE_UNAUTHORISED, 'this launch link was used already or expired');
      const { session, secret } = openWindow();
      attach(ws, session);
      send(ws, { type: 'welcome', windowSecret: secret } satisfies ShellWelcomeFrame);
      return;
    }
    const session = findWindow(parsed.data.windowSecret);
    if (!session) return ws.close(SHELL_CLOSE_UNAUTHORISED, 'unauthorised');
    attach(ws, session);
    send(ws, { type: 'welcome', windowSecret: parsed.data.windowSecret } satisfies ShellWelcomeFrame);
  }

  async function answer(ws: WebSocket, session: WindowSession, frame: unknown): Promise<void> {
    const request = ShellRequestFrame.safeParse(frame);
    if (!request.success) {
      const id = (frame as { id?: unknown } | null)?.id;
      if (typeof id !== 'number') return ws.close(1008, 'malformed frame');
      return send(ws, { id, result: fail('invalid_input', describeZodError(request.error, 'frame')) });
    }
    const result = await session.core.invoke(request.data.channel, request.data.payload);
    send(ws, { id: request.data.id, result } satisfies ShellResponseFrame);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://${host}:${port}`;
  csp = rendererCsp({ ...options.connectTo, shellOrigin: origin });

  return {
    origin,
    newLaunchUrl,
    windowCount: () => windows.size,
    async close() {
      closing = true;
      launchCodes.clear();
      for (const ws of sockets.clients) ws.close(1001, 'shutting down');
      await Promise.all([...windows].map((session) => closeWindow(session)));
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function digestOf(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function send(ws: WebSocket, frame: ShellResponseFrame | ShellEventFrame | ShellWelcomeFrame): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function sendText(response: http.ServerResponse, status: number, text: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
  response.end(text);
}

function serveStatic(staticDir: string, request: http.IncomingMessage, response: http.ServerResponse): void {
  const resolved = resolveStaticFile(staticDir, new URL(request.url ?? '/', 'http://host').pathname);
  if (!resolved.ok) return sendText(response, resolved.status, resolved.message);
  fs.stat(resolved.file, (error, stats) => {
    if (error) return sendText(response, 404, 'Not found');
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': resolved.contentType,
      'content-length': String(stats.size),
    });
    if (request.method === 'HEAD') return void response.end();
    fs.createReadStream(resolved.file)
      .on('error', () => response.destroy())
      .pipe(response);
  });
}
