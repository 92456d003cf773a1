import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitFor } from '@testing-library/react';
import { WebSocket as WsClient, WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { SHELL_CLOSE_UNAUTHORISED } from '../../shared/ipc.js';
import { createShellBridge, keepWindowSecret, selectBridge, takeShellCredential, type ShellBridge, type ShellConnectionState } from './bridge.js';

const LAUNCH_CODE = 'launch-code-0123456789abcdef';
const WINDOW_SECRET = 'window-secret-0123456789abcdef';

/**
 * A stand-in for the core host's /ipc endpoint that records every frame and lets each test
 * decide how to answer. Real sockets on loopback. The client side uses `ws`'s WebSocket, which
 * implements the browser API the bridge relies on (onopen/onmessage/onclose, string data for
 * text frames, close codes); the global one in this jsdom environment mixes two Event classes.
 */
class FakeCoreHost {
  readonly server: WebSocketServer;
  readonly connections: Array<{ socket: ServerSocket; frames: unknown[] }> = [];
  answer: (frame: { id: number; channel: string; payload: unknown }, socket: ServerSocket) => void = (frame, socket) =>
    socket.send(JSON.stringify({ id: frame.id, result: { ok: true, value: { echoed: frame.channel, payload: frame.payload } } }));

  private constructor(server: WebSocketServer) {
    this.server = server;
    server.on('connection', (socket) => {
      const connection = { socket, frames: [] as unknown[] };
      this.connections.push(connection);
      socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as Record<string, unknown>;
        connection.frames.push(frame);
        if (connection.frames.length === 1) {
          const known = frame.type === 'hello' && (frame.launchCode === LAUNCH_CODE || frame.windowSecret === WINDOW_SECRET);
          if (!known) socket.close(SHELL_CLOSE_UNAUTHORISED, 'bad hello');
          else socket.send(JSON.stringify({ type: 'welcome', windowSecret: WINDOW_SECRET }));
          return;
        }
        if (frame.type === 'launchUrl') {
          socket.send(JSON.stringify({ id: frame.id, result: { ok: true, value: { url: 'http://127.0.0.1:1/#launch=next-window-code-0123456789' } } }));
          return;
        }
        this.answer(frame as { id: number; channel: string; payload: unknown }, socket);
      });
    });
  }

  static async start(): Promise<FakeCoreHost> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ipc' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new FakeCoreHost(server);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as { port: number }).port}/ipc`;
  }

  async stop(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function startHost(): Promise<FakeCoreHost> {
  const host = await FakeCoreHost.start();
  cleanups.push(() => host.stop());
  return host;
}

function connect(
  host: FakeCoreHost,
  launchCode = LAUNCH_CODE,
): { bridge: ShellBridge; states: ShellConnectionState[]; secrets: string[] } {
  const secrets: string[] = [];
  const bridge = createShellBridge({
    url: host.url,
    credential: { launchCode },
    onWindowSecret: (secret) => secrets.push(secret),
    WebSocketImpl: WsClient as unknown as typeof WebSocket,
    initialBackoffMs: 20,
    maxBackoffMs: 100,
  });
  const states: ShellConnectionState[] = [];
  bridge.onConnectionChange((state) => states.push(state));
  cleanups.push(() => bridge.close());
  return { bridge, states, secrets };
}

describe('browser-shell bridge client', () => {
  it('sends the hello first, then request frames, and maps response frames to results', async () => {
    const host = await startHost();
    const { bridge } = connect(host);

    // Made before the socket is open: queued and sent after the hello.
    const result = await bridge.invoke('customers:search', { query: '山田', limit: 5 });

    expect(result).toEqual({ ok: true, value: { echoed: 'customers:search', payload: { query: '山田', limit: 5 } } });
    const frames = host.connections[0]?.frames ?? [];
    expect(frames[0]).toEqual({ type: 'hello', launchCode: LAUNCH_CODE });
    expect(frames[1]).toMatchObject({ channel: 'customers:search', payload: { query: '山田', limit: 5 } });
    expect(typeof (frames[1] as { id: unknown }).id).toBe('number');
  });

  it('matches answers to calls by id even when they arrive out of order', async () => {
    const host = await startHost();
    const waiting: Array<{ id: number; channel: string; socket: ServerSocket }> = [];
    host.answer = (frame, socket) => {
      waiting.push({ id: frame.id, channel: frame.channel, socket });
      if (waiting.length === 2) {
        for (const call of [...waiting].reverse()) {
          call.socket.send(JSON.stringify({ id: call.id, result: { ok: false, error: { code: 'not_found', message: call.channel } } }));
        }
      }
    };
    const { bridge } = connect(host);

    const [first, second] = await Promise.all([
      bridge.invoke('customers:get', { customerId: 'a' }),
      bridge.invoke('sync:status', undefined),
    ]);

    expect(first).toEqual({ ok: false, error: { code: 'not_found', message: 'customers:get' } });
    expect(second).toEqual({ ok: false, error: { code: 'not_found', message: 'sync:status' } });
  });

  it('delivers valid event frames to listeners and drops malformed ones', async () => {
    const host = await startHost();
    const { bridge } = connect(host);
    const received: unknown[] = [];
    bridge.on('sync:status', (status) => received.push(status));
    await bridge.invoke('app:info', undefined);

    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    cleanups.push(() => warn.mockRestore());
    const socket = host.connections[0]!.socket;
    socket.send(JSON.stringify({ event: 'sync:status', payload: { phase: 'nonsense' } }));
    const status = {
      phase: 'idle',
      online: true,
      lastSyncedAt: '2024-05-01T00:00:00Z',
      pendingOutbox: 2,
      progress: null,
      lastError: null,
      cachedCustomers: 10,
    };
    socket.send(JSON.stringify({ event: 'sync:status', payload: status }));

    await waitFor(() => expect(received).toHaveLength(1));
    expect(received[0]).toEqual(status);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('malformed sync:status'), expect.anything());
  });

  it('fails calls in flight with offline when the socket drops, then reconnects with a new hello', async () => {
    const host = await startHost();
    host.answer = (frame, socket) => {
      if (frame.channel === 'sync:now') socket.terminate();
      else socket.send(JSON.stringify({ id: frame.id, result: { ok: true, value: frame.channel } }));
    };
    const { bridge, states } = connect(host);
    expect(await bridge.invoke('sync:status', undefined)).toEqual({ ok: true, value: 'sync:status' });

    const dropped = await bridge.invoke('sync:now', undefined);
    expect(dropped.ok).toBe(false);
    expect(!dropped.ok && dropped.error.code).toBe('offline');

    await waitFor(() => expect(bridge.connectionState).toBe('open'));
    expect(states).toContain('waiting');
    expect(host.connections).toHaveLength(2);
    // The launch code was spent by the first hello: the window comes back with its own secret.
    expect(host.connections[1]?.frames[0]).toEqual({ type: 'hello', windowSecret: WINDOW_SECRET });
    expect(await bridge.invoke('app:info', undefined)).toEqual({ ok: true, value: 'app:info' });
  });

  it('keeps the window secret the host gives and asks for links to new windows', async () => {
    const host = await startHost();
    const { bridge, secrets } = connect(host);

    const url = await bridge.newWindowUrl();

    expect(url).toEqual({ ok: true, value: 'http://127.0.0.1:1/#launch=next-window-code-0123456789' });
    expect(secrets).toEqual([WINDOW_SECRET]);
    expect(host.connections[0]?.frames[1]).toMatchObject({ type: 'launchUrl' });
  });

  it('gives up, answering unauthenticated, when the host refuses the launch code', async () => {
    const host = await startHost();
    const { bridge } = connect(host, 'a-spent-launch-code-0123456789');

    const refused = await bridge.invoke('session:current', undefined);

    expect(!refused.ok && refused.error.code).toBe('unauthenticated');
    expect(bridge.connectionState).toBe('refused');
    expect(host.connections).toHaveLength(1);
  });
});

describe('window credential', () => {
  afterEach(() => {
    sessionStorage.clear();
    window.history.replaceState(null, '', '/');
  });

  it('takes the launch code out of the address bar; a reload presents the window secret instead', () => {
    keepWindowSecret(window, 'an-older-window-secret-0123456789');
    window.history.replaceState(null, '', `/index.html?x=1#launch=${LAUNCH_CODE}`);

    expect(takeShellCredential(window)).toEqual({ launchCode: LAUNCH_CODE });
    expect(window.location.hash).toBe('');
    expect(window.location.search).toBe('?x=1');
    expect(window.location.href).not.toContain(LAUNCH_CODE);
    // A launch link is a new window: whatever secret this tab held before is forgotten.
    expect(takeShellCredential(window)).toBeNull();

    keepWindowSecret(window, WINDOW_SECRET);
    expect(takeShellCredential(window)).toEqual({ windowSecret: WINDOW_SECRET });
  });

  it('prefers the Electron preload when there is one', () => {
    const preload = { invoke: async () => ({ ok: true as const, value: null }), on: () => () => undefined };
    const win = Object.assign(Object.create(window) as Window, { tsunagu: preload });
    expect(selectBridge(win)).toBe(preload);
  });

  it('answers every call with a clear error when opened without a launch link', async () => {
    const result = await selectBridge(window).invoke('session:current', undefined);
    expect(!result.ok && result.error.message).toContain('launch link');
  });
});
