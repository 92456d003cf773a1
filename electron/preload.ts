import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { IpcEvent, IpcEventPayload, TsunaguBridge } from '../shared/ipc.js';
import type { Result } from '../shared/result.js';

/**
 * Exposes the IPC contract to the renderer as `window.tsunagu`. The preload runs sandboxed, so
 * it imports nothing but `electron` (and types); the core validates every payload anyway.
 */

/** Must equal EVENT_CHANNEL in main.ts (not imported: main.ts is not loadable in a sandbox). */
const EVENT_CHANNEL = 'tsunagu:event';

/** Every core → renderer event; the `satisfies` fails to compile when the contract gains one. */
const KNOWN_EVENTS = {
  'sync:status': true,
  'outbox:delivered': true,
  'session:expired': true,
  'agent:status': true,
  'calls:refused': true,
  'system:shortcut': true,
  'system:resumed': true,
  'mail:queue': true,
  'supervisor:summary': true,
  'mail:localDrafts': true,
  'callme:offer': true,
} as const satisfies Record<IpcEvent, true>;

type AnyListener = (payload: unknown) => void;
const listeners = new Map<IpcEvent, Set<AnyListener>>();

ipcRenderer.on(EVENT_CHANNEL, (_event: IpcRendererEvent, message: { event?: unknown; payload?: unknown }) => {
  const name = message?.event;
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(KNOWN_EVENTS, name)) return;
  for (const listener of listeners.get(name as IpcEvent) ?? []) listener(message.payload);
});

const bridge = {
  invoke(channel, payload) {
    return ipcRenderer.invoke(channel, payload) as Promise<Result<never>>;
  },
  on<E extends IpcEvent>(event: E, listener: (payload: IpcEventPayload<E>) => void) {
    const set = listeners.get(event) ?? new Set<AnyListener>();
    listeners.set(event, set);
    const wrapped: AnyListener = (payload) => listener(payload as IpcEventPayload<E>);
    set.add(wrapped);
    return () => {
      set.delete(wrapped);
    };
  },
} satisfies TsunaguBridge;

contextBridge.exposeInMainWorld('tsunagu', bridge);
