import {
  IPC_EVENTS,
  SHELL_CLOSE_UNAUTHORISED,
  type IpcChannel,
  type IpcEvent,
  type IpcEventPayload,
  type IpcRequest,
  type IpcResult,
  type TsunaguBridge,
} from '../../shared/ipc.js';
import { fail, type Result } from '../../shared/result.js';

/** Where the browser shell keeps the launch secret so that a reload of the same window still connects. */
const SECRET_STORAGE_KEY = 'tsunagu.shellSecret';

export type ShellConnectionState = 'connecting' | 'open' | 'waiting' | 'refused' | 'closed';

/** The browser shell's client: the same contract as the preload, plus its connection state. */
export interface ShellBridge extends TsunaguBridge {
  readonly connectionState: ShellConnectionState;
  onConnectionChange(listener: (state: ShellConnectionState) => void): () => void;
  /** Stops reconnecting and fails whatever is still waiting. */
  close(): void;
}

export interface ShellBridgeOptions {
  url: string;
  secret: string;
  /** The browser's WebSocket unless given; tests pass the one their environment provides. */
  WebSocketImpl?: typeof WebSocket;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

type Settle = (result: Result<unknown>) => void;
type AnyListener = (payload: unknown) => void;

export function isShellBridge(bridge: TsunaguBridge): bridge is ShellBridge {
  return typeof (bridge as Partial<ShellBridge>).onConnectionChange === 'function';
}

/**
 * Talks to the core host over its loopback WebSocket (wire format in shared/ipc.ts): a hello
 * frame with the secret first, then `{id, channel, payload}` requests answered by
 * `{id, result}`, and `{event, payload}` pushes. The core host may restart (dev, crash), so a
 * dropped socket is reopened with exponential backoff; calls caught by the drop, or made
 * while waiting to retry, are answered `offline` at once rather than left hanging.
 */
export function createShellBridge(options: ShellBridgeOptions): ShellBridge {
  const Impl = options.WebSocketImpl ?? WebSocket;
  const initialBackoffMs = options.initialBackoffMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;

  let state: ShellConnectionState = 'closed';
  let socket: WebSocket | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let failedAttempts = 0;
  let nextId = 1;
  const awaitingResponse = new Map<number, Settle>();
  let awaitingOpen: Array<{ id: number; frame: string; settle: Settle }> = [];
  const eventListeners = new Map<IpcEvent, Set<AnyListener>>();
  const connectionListeners = new Set<(state: ShellConnectionState) => void>();

  function setState(next: ShellConnectionState): void {
    if (state === next) return;
    state = next;
    for (const listener of connectionListeners) listener(next);
  }

  function failEverything(result: Result<unknown>): void {
    const settles = [...awaitingResponse.values(), ...awaitingOpen.map((call) => call.settle)];
    awaitingResponse.clear();
    awaitingOpen = [];
    for (const settle of settles) settle(result);
  }

  function connect(): void {
    retryTimer = null;
    setState('connecting');
    const ws = new Impl(options.url);
    socket = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'hello', secret: options.secret }));
      failedAttempts = 0;
      const queued = awaitingOpen;
      awaitingOpen = [];
      for (const call of queued) {
        awaitingResponse.set(call.id, call.settle);
        ws.send(call.frame);
      }
      setState('open');
    };
    ws.onmessage = (message: MessageEvent) => {
      if (typeof message.data === 'string') receive(message.data);
    };
    ws.onclose = (closed: CloseEvent) => {
      if (socket !== ws) return;
      socket = null;
      if (closed.code === SHELL_CLOSE_UNAUTHORISED) {
        // The secret will not become right by retrying: this window belongs to an earlier launch.
        failEverything(fail('unauthenticated', 'The app core refused this window; close it and start Tsunagu again'));
        setState('refused');
        return;
      }
      failEverything(fail('offline', 'The app core is not reachable; reconnecting'));
      const delay = Math.min(maxBackoffMs, initialBackoffMs * 2 ** failedAttempts);
      failedAttempts += 1;
      setState('waiting');
      retryTimer = setTimeout(connect, delay);
    };
  }

  function receive(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      console.warn('Ignoring a non-JSON frame from the app core');
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    const record = frame as Record<string, unknown>;
    if (typeof record.id === 'number' && isResult(record.result)) {
      const settle = awaitingResponse.get(record.id);
      awaitingResponse.delete(record.id);
      settle?.(record.result);
      return;
    }
    if (typeof record.event === 'string' && Object.prototype.hasOwnProperty.call(IPC_EVENTS, record.event)) {
      const event = record.event as IpcEvent;
      const parsed = IPC_EVENTS[event].safeParse(record.payload);
      if (!parsed.success) {
        console.warn(`Ignoring a malformed ${event} event from the app core`, parsed.error.issues);
        return;
      }
      for (const listener of eventListeners.get(event) ?? []) listener(parsed.data);
    }
  }

  const bridge: ShellBridge = {
    get connectionState() {
      return state;
    },
    invoke<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<Result<IpcResult<C>>> {
      return new Promise<Result<unknown>>((settle) => {
        if (state === 'refused') {
          settle(fail('unauthenticated', 'The app core refused this window; close it and start Tsunagu again'));
          return;
        }
        if (state === 'waiting' || state === 'closed') {
          settle(fail('offline', 'The app core is not reachable; reconnecting'));
          return;
        }
        const id = nextId++;
        const frame = JSON.stringify({ id, channel, payload });
        if (state === 'open' && socket) {
          awaitingResponse.set(id, settle);
          socket.send(frame);
        } else {
          awaitingOpen.push({ id, frame, settle });
        }
      }) as Promise<Result<IpcResult<C>>>;
    },
    on<E extends IpcEvent>(event: E, listener: (payload: IpcEventPayload<E>) => void): () => void {
      let listeners = eventListeners.get(event);
      if (!listeners) {
        listeners = new Set();
        eventListeners.set(event, listeners);
      }
      const untyped = listener as AnyListener;
      listeners.add(untyped);
      return () => listeners.delete(untyped);
    },
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
    close() {
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      setState('closed');
      const open = socket;
      socket = null;
      open?.close();
      failEverything(fail('offline', 'The connection to the app core was closed'));
    },
  };
  connect();
  return bridge;
}

function isResult(value: unknown): value is Result<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { ok?: unknown; error?: unknown };
  if (candidate.ok === true) return true;
  if (candidate.ok !== false || typeof candidate.error !== 'object' || candidate.error === null) return false;
  const error = candidate.error as { code?: unknown; message?: unknown };
  return typeof error.code === 'string' && typeof error.message === 'string';
}

/**
 * The browser shell opens the window at `…/#secret=…`: the fragment never travels over HTTP.
 * It is taken out of the address bar at once (so it is not shown, bookmarked or copied) and
 * kept in this window's sessionStorage so a reload still connects.
 */
export function takeLaunchSecret(win: Window): string | null {
  const params = new URLSearchParams(win.location.hash.replace(/^#/, ''));
  const secret = params.get('secret');
  if (secret) {
    params.delete('secret');
    const rest = params.toString();
    win.history.replaceState(win.history.state, '', `${win.location.pathname}${win.location.search}${rest ? `#${rest}` : ''}`);
    try {
      win.sessionStorage.setItem(SECRET_STORAGE_KEY, secret);
    } catch {
      // Storage can be disabled; the secret then lives for this page only, which still works.
    }
    return secret;
  }
  try {
    return win.sessionStorage.getItem(SECRET_STORAGE_KEY);
  } catch {
    return null;
  }
}

export function shellSocketUrl(location: Location): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ipc`;
}

/** A bridge that answers every call with the same error, for a window that cannot reach any core. */
function unreachableBridge(message: string): TsunaguBridge {
  return {
    invoke: async () => fail('unauthenticated', message),
    on: () => () => undefined,
  };
}

/** Electron's preload wins; otherwise this window is the browser shell's. */
export function selectBridge(win: Window = window): TsunaguBridge {
  const preload = (win as Window & { tsunagu?: TsunaguBridge }).tsunagu;
  if (preload) return preload;
  const secret = takeLaunchSecret(win);
  if (!secret) return unreachableBridge('This window was opened without its launch secret; start Tsunagu again');
  return createShellBridge({ url: shellSocketUrl(win.location), secret });
}
