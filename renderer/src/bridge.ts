import {
  IPC_EVENTS,
  SHELL_CLOSE_TAKEN_OVER,
  SHELL_CLOSE_UNAUTHORISED,
  ShellWelcomeFrame,
  type IpcChannel,
  type IpcEvent,
  type IpcEventPayload,
  type IpcRequest,
  type IpcResult,
  type TsunaguBridge,
} from '../../shared/ipc.js';
import { fail, type Result } from '../../shared/result.js';

/** Where the browser shell keeps this window's secret so that a reload of the same window still connects. */
const SECRET_STORAGE_KEY = 'tsunagu.windowSecret';

export type ShellConnectionState = 'connecting' | 'open' | 'waiting' | 'refused' | 'closed';

/** The browser shell's client: the same contract as the preload, plus its connection state. */
export interface ShellBridge extends TsunaguBridge {
  readonly connectionState: ShellConnectionState;
  onConnectionChange(listener: (state: ShellConnectionState) => void): () => void;
  /** The URL of a new window with its own session on this host (its one-time launch link). */
  newWindowUrl(): Promise<Result<string>>;
  /** Stops reconnecting and fails whatever is still waiting. */
  close(): void;
}

/** How this window proves itself to the host: its one-time launch code the first time, then its own secret. */
export type ShellCredential = { launchCode: string } | { windowSecret: string };

export interface ShellBridgeOptions {
  url: string;
  credential: ShellCredential;
  /** Called with the window's secret once the host has given (or confirmed) it. */
  onWindowSecret?: (secret: string) => void;
  /** The browser's WebSocket unless given; tests pass the one their environment provides. */
  WebSocketImpl?: typeof WebSocket;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

type Settle = (result: Result<unknown>) => void;

const REFUSED_MESSAGE = 'The app core refused this window (its link was used already, or Tsunagu was restarted); open a new window from Tsunagu';
const TAKEN_OVER_MESSAGE = 'This window continues in another tab; close this one';
type AnyListener = (payload: unknown) => void;

export function isShellBridge(bridge: TsunaguBridge): bridge is ShellBridge {
  return typeof (bridge as Partial<ShellBridge>).onConnectionChange === 'function';
}

/**
 * Talks to the core host over its loopback WebSocket (wire format in shared/ipc.ts): a hello
 * frame with the launch code or window secret first, then `{id, channel, payload}` requests answered by
 * `{id, result}`, and `{event, payload}` pushes. The core host may restart (dev, crash), so a
 * dropped socket is reopened with exponential backoff; calls caught by the drop, or made
 * while waiting to retry, are answered `offline` at once rather than left hanging.
 */
export function createShellBridge(options: ShellBridgeOptions): ShellBridge {
  const Impl = options.WebSocketImpl ?? WebSocket;
  const initialBackoffMs = options.initialBackoffMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;

  let credential = options.credential;
  let state: ShellConnectionState = 'closed';
  let socket: WebSocket | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let failedAttempts = 0;
  let refusedMessage = REFUSED_MESSAGE;
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
      ws.send(JSON.stringify({ type: 'hello', ...credential }));
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
      if (closed.code === SHELL_CLOSE_UNAUTHORISED || closed.code === SHELL_CLOSE_TAKEN_OVER) {
        // Retrying cannot help: this window belongs to an earlier launch, its launch link was
        // spent already, or another tab took its session over.
        refusedMessage = closed.code === SHELL_CLOSE_TAKEN_OVER ? TAKEN_OVER_MESSAGE : REFUSED_MESSAGE;
        failEverything(fail('unauthenticated', refusedMessage));
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
    const welcome = ShellWelcomeFrame.safeParse(frame);
    if (welcome.success) {
      credential = { windowSecret: welcome.data.windowSecret };
      options.onWindowSecret?.(welcome.data.windowSecret);
      return;
    }
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

  function request(frameOf: (id: number) => object): Promise<Result<unknown>> {
    return new Promise<Result<unknown>>((settle) => {
      if (state === 'refused') {
        settle(fail('unauthenticated', refusedMessage));
        return;
      }
      if (state === 'waiting' || state === 'closed') {
        settle(fail('offline', 'The app core is not reachable; reconnecting'));
        return;
      }
      const id = nextId++;
      const frame = JSON.stringify(frameOf(id));
      if (state === 'open' && socket) {
        awaitingResponse.set(id, settle);
        socket.send(frame);
      } else {
        awaitingOpen.push({ id, frame, settle });
      }
    });
  }

  const bridge: ShellBridge = {
    get connectionState() {
      return state;
    },
    invoke<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<Result<IpcResult<C>>> {
      return request((id) => ({ id, channel, payload })) as Promise<Result<IpcResult<C>>>;
    },
    async newWindowUrl() {
      const result = await request((id) => ({ type: 'launchUrl', id }));
      if (!result.ok) return result;
      const url = (result.value as { url?: unknown } | null)?.url;
      return typeof url === 'string' ? { ok: true, value: url } : fail('internal', 'The app core sent no window link');
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
 * How this window proves itself to the browser-shell host. A new window is opened at
 * `…/#launch=CODE` (a one-time code; the fragment never travels over HTTP): it is taken out
 * of the address bar at once, so it is not shown, bookmarked or copied, and presented once.
 * The host then gives the window its own secret, which lives in this window's sessionStorage
 * only, so a reload still reaches the same session. A launch code wins over a stored secret:
 * that is a new window.
 */
export function takeShellCredential(win: Window): ShellCredential | null {
  const params = new URLSearchParams(win.location.hash.replace(/^#/, ''));
  const launchCode = params.get('launch');
  if (launchCode) {
    params.delete('launch');
    const rest = params.toString();
    win.history.replaceState(win.history.state, '', `${win.location.pathname}${win.location.search}${rest ? `#${rest}` : ''}`);
    forgetWindowSecret(win);
    return { launchCode };
  }
  try {
    const windowSecret = win.sessionStorage.getItem(SECRET_STORAGE_KEY);
    return windowSecret ? { windowSecret } : null;
  } catch {
    return null;
  }
}

export function keepWindowSecret(win: Window, secret: string): void {
  try {
    win.sessionStorage.setItem(SECRET_STORAGE_KEY, secret);
  } catch {
    // Storage can be disabled; the secret then lives for this page only, which still works.
  }
}

function forgetWindowSecret(win: Window): void {
  try {
    win.sessionStorage.removeItem(SECRET_STORAGE_KEY);
  } catch {
    // Nothing stored then.
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
  const credential = takeShellCredential(win);
  if (!credential) return unreachableBridge('This window was opened without its launch link; open a new window from Tsunagu, or start it again');
  return createShellBridge({ url: shellSocketUrl(win.location), credential, onWindowSecret: (secret) => keepWindowSecret(win, secret) });
}
