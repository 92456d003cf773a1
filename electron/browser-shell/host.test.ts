import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SHELL_CLOSE_TAKEN_OVER, SHELL_CLOSE_UNAUTHORISED } from '../../shared/ipc.js';
import { createCore, type Core } from '../core/core.js';
import { createMemoryLogger } from '../core/logger.js';
import { MemoryCacheKeyStore } from '../core/cache/cache-keys.js';
import { MemoryTokenStore } from '../core/token-store.js';
import { rendererCsp } from '../csp.js';
import { startBrowserShellHost, type BrowserShellHost } from './host.js';

let staticDir: string;
let dataDir: string;
let host: BrowserShellHost;
/** Every core the host opened, one per window, in order. */
const cores: Core[] = [];
const disposed = new Set<Core>();

beforeAll(async () => {
  staticDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-static-'));
  fs.mkdirSync(path.join(staticDir, 'assets'));
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Tsunagu</title>');
  fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log("app")');
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-host-core-'));
  host = await startBrowserShellHost({
    staticDir,
    connectTo: { backendUrl: 'http://127.0.0.1:9', pbxUrls: ['wss://pbx.example.jp:7443/ws'] },
    windowGraceMs: 200,
    openWindowCore: () => {
      // Nothing listens on port 9: these tests only need the core's local answers.
      const core = createCore({ dataDir, backendUrl: 'http://127.0.0.1:9', tokenStore: new MemoryTokenStore(), cacheKeys: new MemoryCacheKeyStore(), logger: createMemoryLogger() });
      cores.push(core);
      return {
        ...core,
        dispose: async () => {
          disposed.add(core);
          await core.dispose();
        },
      };
    },
  });
});

afterAll(async () => {
  await host?.close();
  fs.rmSync(staticDir, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function get(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const { port } = new URL(host.origin);
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathname, headers }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      })
      .on('error', reject);
  });
}

/** Opens a socket; resolves once it is open (or with the handshake's HTTP status if refused). */
function connect(origin: string | undefined): Promise<{ ws: WebSocket } | { refused: number }> {
  const ws = new WebSocket(`${host.origin.replace('http', 'ws')}/ipc`, origin === undefined ? {} : { origin });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_request, response) => resolve({ refused: response.statusCode ?? 0 }));
    ws.once('error', reject);
  });
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

function nextFrame(ws: WebSocket, match: (frame: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      if (!match(frame)) return;
      ws.off('message', onMessage);
      resolve(frame);
    };
    ws.on('message', onMessage);
  });
}

describe('browser shell host: static files', () => {
  it('serves the renderer with its content types and the CSP', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toBe(
      rendererCsp({ backendUrl: 'http://127.0.0.1:9', pbxUrls: ['wss://pbx.example.jp:7443/ws'], shellOrigin: host.origin }),
    );
    expect(index.headers['content-security-policy']).toContain(`connect-src 'self' http://127.0.0.1:9 wss://pbx.example.jp:7443 ws://${new URL(host.origin).host};`);
    expect((await get('/missing.js')).headers['content-security-policy']).toBe(index.headers['content-security-policy']);
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(index.body).toContain('<title>Tsunagu</title>');

    const script = await get('/assets/app.js');
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toBe('console.log("app")');
  });

  it('falls back to index.html for the renderer\'s routes but not for missing files', async () => {
    expect((await get('/customers/123')).body).toContain('<title>Tsunagu</title>');
    expect((await get('/assets/missing.js')).status).toBe(404);
  });

  it('never serves a file outside its folder', async () => {
    for (const attempt of ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2f..%2fetc%2fpasswd']) {
      const response = await get(attempt);
      expect(response.body).not.toContain('root:');
    }
  });

  it('answers nothing to another host name (DNS rebinding)', async () => {
    expect((await get('/', { host: `evil.example:${new URL(host.origin).port}` })).status).toBe(421);
  });
});

function launchCodeOf(url: string): string {
  const code = new URL(url).hash.match(/^#launch=([\w-]+)$/)?.[1];
  if (!code) throw new Error(`no launch code in ${url}`);
  return code;
}

async function openSocket(): Promise<WebSocket> {
  const opened = await connect(host.origin);
  if (!('ws' in opened)) throw new Error('handshake refused');
  return opened.ws;
}

/** A new window: presents a fresh launch code and resolves with its socket and window secret. */
async function openWindow(): Promise<{ ws: WebSocket; secret: string }> {
  const ws = await openSocket();
  const welcome = nextFrame(ws, (f) => f.type === 'welcome');
  ws.send(JSON.stringify({ type: 'hello', launchCode: launchCodeOf(host.newLaunchUrl()) }));
  return { ws, secret: (await welcome).windowSecret as string };
}

async function call(ws: WebSocket, id: number, channel: string, payload: unknown = null): Promise<Record<string, unknown>> {
  const answer = nextFrame(ws, (f) => f.id === id);
  ws.send(JSON.stringify({ id, channel, payload }));
  return answer;
}

describe('browser shell host: IPC socket', () => {
  it('puts a one-time launch code, not a secret, in the URL fragment', () => {
    const url = host.newLaunchUrl();
    expect(url).toMatch(new RegExp(`^${host.origin}/#launch=[\\w-]{43}$`));
    expect(host.newLaunchUrl()).not.toBe(url);
  });

  it('refuses a socket from a foreign origin or without one', async () => {
    expect(await connect('http://evil.example')).toEqual({ refused: 403 });
    expect(await connect('http://127.0.0.1:1')).toEqual({ refused: 403 });
    expect(await connect(undefined)).toEqual({ refused: 403 });
  });

  it('closes a socket whose first frame is not a hello with a live launch code or window secret', async () => {
    const spent = launchCodeOf(host.newLaunchUrl());
    const first = await openSocket();
    first.send(JSON.stringify({ type: 'hello', launchCode: spent }));
    await nextFrame(first, (f) => f.type === 'welcome');
    for (const hello of [
      { type: 'hello', launchCode: spent },
      { type: 'hello', launchCode: 'x'.repeat(43) },
      { type: 'hello', windowSecret: 'x'.repeat(43) },
      { type: 'hello', secret: 'x'.repeat(43) },
      { id: 1, channel: 'app:info', payload: null },
      'not json',
    ]) {
      const ws = await openSocket();
      const closed = closeCode(ws);
      ws.send(typeof hello === 'string' ? hello : JSON.stringify(hello));
      expect(await closed, JSON.stringify(hello)).toBe(SHELL_CLOSE_UNAUTHORISED);
    }
    first.close();
  });

  it('refuses a launch code that expired unused', async () => {
    const shortLived = await startBrowserShellHost({ staticDir, connectTo: { backendUrl: 'http://127.0.0.1:9', pbxUrls: [] }, launchCodeTtlMs: 1, openWindowCore: () => cores[0]! });
    try {
      const url = shortLived.newLaunchUrl();
      await new Promise<void>((resolve) => setImmediate(resolve));
      await expect.poll(() => Date.now()).toBeGreaterThan(Date.now() + 1);
      const ws = new WebSocket(`${shortLived.origin.replace('http', 'ws')}/ipc`, { origin: shortLived.origin });
      await new Promise((resolve) => ws.once('open', resolve));
      const closed = closeCode(ws);
      ws.send(JSON.stringify({ type: 'hello', launchCode: launchCodeOf(url) }));
      expect(await closed).toBe(SHELL_CLOSE_UNAUTHORISED);
      expect(shortLived.windowCount()).toBe(0);
    } finally {
      await shortLived.close();
    }
  });

  it('serves requests and pushes core events after the hello', async () => {
    const { ws } = await openWindow();

    expect(await call(ws, 1, 'app:info')).toMatchObject({ id: 1, result: { ok: true, value: { shell: 'browser' } } });
    expect(await call(ws, 2, 'customers:search', { query: 42 })).toMatchObject({
      id: 2,
      result: { ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/^query: /) } },
    });
    expect(await call(ws, 3, 'no:such')).toMatchObject({ result: { ok: false, error: { code: 'invalid_input' } } });

    const malformed = nextFrame(ws, (f) => f.id === 4);
    ws.send(JSON.stringify({ id: 4, channel: 7 }));
    expect(await malformed).toMatchObject({
      result: { ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/^frame\.channel: /) } },
    });

    // Logging out emits sync:status, which this window's socket receives.
    const event = nextFrame(ws, (f) => f.event === 'sync:status');
    ws.send(JSON.stringify({ id: 6, channel: 'session:logout', payload: null }));
    expect(await event).toMatchObject({ event: 'sync:status', payload: { phase: 'signed_out' } });

    // A frame that cannot even be answered ends the conversation.
    const closed = closeCode(ws);
    ws.send(JSON.stringify({ id: 'seven', channel: 'app:info' }));
    expect(await closed).toBe(1008);
  });
});

describe('browser shell host: one session per window', () => {
  it('gives every window its own core, and events reach only that window', async () => {
    const before = cores.length;
    const one = await openWindow();
    const two = await openWindow();
    expect(cores.length).toBe(before + 2);
    expect(one.secret).not.toBe(two.secret);

    const heardByTwo: unknown[] = [];
    two.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      if (frame.event) heardByTwo.push(frame);
    });
    const event = nextFrame(one.ws, (f) => f.event === 'sync:status');
    await call(one.ws, 1, 'session:logout');
    await event;
    // A round trip on window two after window one's event: anything for two would be here by now.
    await call(two.ws, 1, 'app:info');
    expect(heardByTwo).toEqual([]);
    one.ws.close();
    two.ws.close();
  });

  it('lets a reloaded window back into its own session with its secret, and hands out links for new windows', async () => {
    const { ws, secret } = await openWindow();
    const coresBefore = cores.length;
    const link = nextFrame(ws, (f) => f.id === 9);
    ws.send(JSON.stringify({ type: 'launchUrl', id: 9 }));
    const answer = (await link) as { result: { ok: true; value: { url: string } } };
    expect(answer.result.value.url).toMatch(/#launch=/);

    const closed = closeCode(ws);
    ws.close();
    await closed;
    const again = await openSocket();
    const welcome = nextFrame(again, (f) => f.type === 'welcome');
    again.send(JSON.stringify({ type: 'hello', windowSecret: secret }));
    expect((await welcome).windowSecret).toBe(secret);
    expect(await call(again, 1, 'app:info')).toMatchObject({ result: { ok: true } });
    expect(cores.length).toBe(coresBefore);

    // A duplicated tab with the same secret takes over; the first tab is told why it stopped.
    const takenOver = closeCode(again);
    const duplicate = await openSocket();
    duplicate.send(JSON.stringify({ type: 'hello', windowSecret: secret }));
    expect(await takenOver).toBe(SHELL_CLOSE_TAKEN_OVER);
    duplicate.close();
  });

  it('closes a window\'s core once the window is gone for good', async () => {
    const { ws, secret } = await openWindow();
    const core = cores.at(-1)!;
    expect(disposed.has(core)).toBe(false);
    ws.close();
    await expect.poll(() => disposed.has(core)).toBe(true);
    const late = await openSocket();
    const closed = closeCode(late);
    late.send(JSON.stringify({ type: 'hello', windowSecret: secret }));
    expect(await closed).toBe(SHELL_CLOSE_UNAUTHORISED);
  });
});
