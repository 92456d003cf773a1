import { create } from 'zustand';
import type { CallbackText, CallHandlingAction, Seminar } from '../../../shared/calls-for-you.js';
import type { CallsForYouView } from '../../../shared/ipc.js';
import type { CallsForYouScope } from '../../../shared/permissions.js';
import type { AppError, Result } from '../../../shared/result.js';
import { invoke } from '../api.js';

interface CallsForYouState {
  scope: CallsForYouScope;
  view: CallsForYouView | null;
  phase: 'idle' | 'loading' | 'ready' | 'error';
  error: AppError | null;
  seminars: Seminar[];
  load(): Promise<void>;
  setScope(scope: CallsForYouScope): Promise<void>;
  loadSeminars(): Promise<void>;
  /** Queues the handling (outbox) and shows the entry handled, pending until sent. */
  handle(input: { callKey: string; customerId: string; action: CallHandlingAction }): Promise<Result<null>>;
  callbackText(callKey: string): Promise<Result<CallbackText>>;
}

const initialState = { scope: 'mine', view: null, phase: 'idle', error: null, seminars: [] } satisfies Partial<CallsForYouState>;

export const useCallsForYouStore = create<CallsForYouState>()((set, get) => ({
  ...initialState,
  async load() {
    const scope = get().scope;
    if (get().view === null) set({ phase: 'loading' });
    const result = await invoke('callsForYou:list', { scope });
    // A slower answer for a scope the user already left is dropped.
    if (get().scope !== scope) return;
    if (result.ok) set({ view: result.value, phase: 'ready', error: null });
    else set({ phase: 'error', error: result.error });
  },
  async setScope(scope) {
    set({ scope, view: null });
    await get().load();
  },
  async loadSeminars() {
    const result = await invoke('callsForYou:seminars', undefined);
    if (result.ok) set({ seminars: result.value });
  },
  async handle(input) {
    const result = await invoke('callsForYou:handle', { ...input, incidentId: null });
    if (result.ok) await get().load();
    return result;
  },
  callbackText(callKey) {
    return invoke('callsForYou:callbackText', { callKey });
  },
}));

export function resetCallsForYouStore(): void {
  useCallsForYouStore.setState(initialState);
}
