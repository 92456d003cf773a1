import type { IpcChannel, IpcEvent, IpcEventPayload, IpcRequest, IpcResult, TsunaguBridge } from '../../shared/ipc.js';
import { fail, type Result } from '../../shared/result.js';

/**
 * The renderer's only way to the machine: the bridge chosen at start-up (Electron preload or
 * the browser shell's WebSocket client), installed once by main.tsx and by tests.
 */
let installed: TsunaguBridge | null = null;
let onUnauthenticated: (() => void) | null = null;

export function installBridge(bridge: TsunaguBridge): void {
  installed = bridge;
}

export function currentBridge(): TsunaguBridge {
  if (!installed) throw new Error('No TsunaguBridge installed: call installBridge() before rendering');
  return installed;
}

/**
 * Called when the core answers `unauthenticated` to anything but a login attempt: the core
 * lost the session (token expired, or the browser-shell host restarted with memory-only
 * credentials), so the UI must go back to the login screen instead of showing errors.
 */
export function setUnauthenticatedHandler(handler: (() => void) | null): void {
  onUnauthenticated = handler;
}

export async function invoke<C extends IpcChannel>(channel: C, payload: IpcRequest<C>): Promise<Result<IpcResult<C>>> {
  let result: Result<IpcResult<C>>;
  try {
    result = await currentBridge().invoke(channel, payload);
  } catch (error) {
    // A bridge reports failures as values; a rejection means the shell itself broke
    // (e.g. a channel missing from an outdated preload), which the UI shows like any error.
    result = fail('internal', error instanceof Error ? error.message : String(error));
  }
  if (!result.ok && result.error.code === 'unauthenticated' && channel !== 'session:login') onUnauthenticated?.();
  return result;
}

export function onCoreEvent<E extends IpcEvent>(event: E, listener: (payload: IpcEventPayload<E>) => void): () => void {
  return currentBridge().on(event, listener);
}
