import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SHELL_CLOSE_UNAUTHORISED } from '../../shared/ipc.js';
import { createCore, type Core } from '../core/core.js';
import { createMemoryLogger } from '../core/logger.js';
import { MemoryCacheKeyStore } from '../core/cache/cache-keys.js';
import { MemoryTokenStore } from '../core/token-store.js';
import { rendererCsp } from '../csp.js';
import { startBrowserShellHost, type BrowserShellHost } from './host.js';

let staticDir: string;
let dataDir: string;
let core: Core;
let host: BrowserShellHost;

beforeAll(async () => {
  staticDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-static-'));
  fs.mkdirSync(path.join(staticDir, 'assets'));
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Tsunagu</title>');
  fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log("app")');
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-host-core-'));
  // Nothing listens on port 9: these tests only need the core's local answers.
  core = createCore({ dataDir, backendUrl: 'http://127.0.0.1:9', tokenStore: new MemoryTokenStore(), cacheKeys: new MemoryCacheKeyStore(), logger: createMemoryLogger() });
  host = await startBrowserShellHost({ core, staticDir, connectTo: { backendUrl: 'http://127.0.0.1:9', pbxUrls: ['wss://pbx.example.jp:7443/ws'] } });
});

afterAll(async () => {
  await host?.close();
  await core?.dispose();
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

describe('browser shell host: IPC socket', () => {
  it('puts the secret in the URL fragment only', () => {
    expect(host.url).toBe(`${host.origin}/#secret=${host.secret}`);
    expect(host.secret.length).toBeGreaterThanOrEqual(43);
  });

  it('refuses a socket from a foreign origin or without one', async () => {
    expect(await connect('http://evil.example')).toEqual({ refused: 403 });
    expect(await connect('http://127.0.0.1:1')).toEqual({ refused: 403 });
    expect(await connect(undefined)).toEqual({ refused: 403 });
  });

  it('closes a socket whose first frame is not the hello with the secret', async () => {
    for (const first of [
      { type: 'hello', secret: 'x'.repeat(43) },
      { type: 'hello', secret: `${host.secret}x` },
      { id: 1, channel: 'app:info', payload: null },
      'not json',
    ]) {
      const opened = await connect(host.origin);
      if (!('ws' in opened)) throw new Error('handshake refused');
      const closed = closeCode(opened.ws);
      opened.ws.send(typeof first === 'string' ? first : JSON.stringify(first));
      expect(await closed).toBe(SHELL_CLOSE_UNAUTHORISED);
    }
  });

  it('serves requests and pushes core events after the hello', async () => {
    const opened = await connect(host.origin);
    if (!('ws' in opened)) throw new Error('handshake refused');
    const { ws } = opened;
    ws.send(JSON.stringify({ type: 'hello', secret: host.secret }));

    ws.send(JSON.stringify({ id: 1, channel: 'app:info', payload: null }));
    expect(await nextFrame(ws, (f) => f.id === 1)).toMatchObject({ id: 1, result: { ok: true, value: { shell: 'browser' } } });

    ws.send(JSON.stringify({ id: 2, channel: 'customers:search', payload: { query: 42 } }));
    expect(await nextFrame(ws, (f) => f.id === 2)).toMatchObject({
      id: 2,
      result: { ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/^query: /) } },
    });

    ws.send(JSON.stringify({ id: 3, channel: 'no:such', payload: null }));
    expect(await nextFrame(ws, (f) => f.id === 3)).toMatchObject({ result: { ok: false, error: { code: 'invalid_input' } } });

    ws.send(JSON.stringify({ id: 4, channel: 7 }));
    expect(await nextFrame(ws, (f) => f.id === 4)).toMatchObject({
      result: { ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/^frame\.channel: /) } },
    });

    // Logging out emits sync:status, which every authenticated socket receives.
    const event = nextFrame(ws, (f) => f.event === 'sync:status');
    ws.send(JSON.stringify({ id: 6, channel: 'session:logout', payload: null }));
    expect(await event).toMatchObject({ event: 'sync:status', payload: { phase: 'signed_out' } });

    // A frame that cannot even be answered ends the conversation.
    const closed = closeCode(ws);
    ws.send(JSON.stringify({ id: 'seven', channel: 'app:info' }));
    expect(await closed).toBe(1008);
  });
});
