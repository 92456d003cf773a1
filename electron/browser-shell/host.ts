import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  SHELL_CLOSE_UNAUTHORISED,
  ShellHelloFrame,
  ShellRequestFrame,
  type ShellEventFrame,
  type ShellResponseFrame,
} from '../../shared/ipc.js';
import { fail } from '../../shared/result.js';
import { describeZodError } from '../../shared/validation.js';
import type { Core } from '../core/core.js';
import type { Logger } from '../core/logger.js';
import { rendererCsp, type CspSources } from '../csp.js';
import { resolveStaticFile } from '../static-files.js';

export interface BrowserShellHostOptions {
  core: Pick<Core, 'invoke' | 'onEvent'>;
  /** The built renderer (index.html and its assets). */
  staticDir: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Loopback only: the socket is guarded by the secret, but nobody else should even see it. */
  host?: '127.0.0.1';
  logger?: Logger;
  /** Where the page may connect besides this host: the configured backend and PBX. */
  connectTo: Omit<CspSources, 'shellOrigin'>;
}

export interface BrowserShellHost {
  /** What the Chromium window opens; the secret travels in the fragment, never over HTTP. */
  url: string;
  secret: string;
  origin: string;
  close(): Promise<void>;
}

const IPC_PATH = '/ipc';
/** A socket that has not said hello by then is closed. */
const HELLO_TIMEOUT_MS = 10_000;
/** Notes are at most 20,000 characters; nothing legitimate comes near this. */
const MAX_FRAME_BYTES = 1024 * 1024;

/** Besides these, every response carries the page's CSP (built once the port is known). */
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-cache',
};

/**
 * The browser shell's host: serves the built renderer and carries the core's IPC contract
 * over a loopback WebSocket (frames in shared/ipc.ts). A socket must come from this host's own
 * origin and must open with the per-launch secret; other local programs and web pages get
 * nothing but the static files.
 */
export async function startBrowserShellHost(options: BrowserShellHostOptions): Promise<BrowserShellHost> {
  const host = options.host ?? '127.0.0.1';
  const secret = randomBytes(32).toString('base64url');
  const secretBytes = Buffer.from(secret);
  const log = options.logger;
  const authenticated = new Set<WebSocket>();
  let origin = '';
  let csp = '';

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
    if (pathname !== IPC_PATH || request.headers.origin !== origin || request.headers.host !== new URL(origin).host) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => accept(ws));
  });

  function accept(ws: WebSocket): void {
    const helloTimer = setTimeout(() => ws.close(SHELL_CLOSE_UNAUTHORISED, 'hello expected'), HELLO_TIMEOUT_MS);
    ws.on('close', () => {
      clearTimeout(helloTimer);
      authenticated.delete(ws);
    });
    ws.on('error', (error) => log?.warn('browser shell socket error', { error: error.message }));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return ws.close(1003, 'text frames only');
      const frame = parseJson(data.toString());
      if (!authenticated.has(ws)) {
        clearTimeout(helloTimer);
        const hello = ShellHelloFrame.safeParse(frame);
        if (!hello.success || !sameSecret(hello.data.secret)) {
          return ws.close(SHELL_CLOSE_UNAUTHORISED, 'unauthorised');
        }
        authenticated.add(ws);
        return;
      }
      void answer(ws, frame);
    });
  }

  async function answer(ws: WebSocket, frame: unknown): Promise<void> {
    const request = ShellRequestFrame.safeParse(frame);
    if (!request.success) {
      const id = (frame as { id?: unknown } | null)?.id;
      if (typeof id !== 'number') return ws.close(1008, 'malformed frame');
      return send(ws, { id, result: fail('invalid_input', describeZodError(request.error, 'frame')) });
    }
    const result = await options.core.invoke(request.data.channel, request.data.payload);
    send(ws, { id: request.data.id, result } satisfies ShellResponseFrame);
  }

  function sameSecret(candidate: string): boolean {
    const bytes = Buffer.from(candidate);
    return bytes.length === secretBytes.length && timingSafeEqual(bytes, secretBytes);
  }

  const unsubscribe = options.core.onEvent((event, payload) => {
    const frame: ShellEventFrame = { event, payload };
    for (const ws of authenticated) send(ws, frame);
  });

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
    url: `${origin}/#secret=${secret}`,
    secret,
    origin,
    async close() {
      unsubscribe();
      for (const ws of sockets.clients) ws.close(1001, 'shutting down');
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function send(ws: WebSocket, frame: ShellResponseFrame | ShellEventFrame): void {
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
