import { create } from 'zustand';
import type { CallbackListView } from '../../../shared/ipc.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';

interface CallbackWorklistState {
  view: CallbackListView | null;
  phase: 'idle' | 'loading' | 'ready' | 'error';
  error: AppError | null;
  load(): Promise<void>;
  complete(callbackId: string): Promise<void>;
}

const initialState = { view: null, phase: 'idle', error: null } satisfies Partial<CallbackWorklistState>;

/** The callback worklist: my callbacks by due time and my team's overdue ones (core channel callbacks:list). */
export const useCallbackWorklistStore = create<CallbackWorklistState>()((set, get) => ({
  ...initialState,
  async load() {
    if (get().view === null) set({ phase: 'loading' });
    const result = await invoke('callbacks:list', undefined);
    if (result.ok) set({ view: result.value, phase: 'ready', error: null });
    else set({ phase: 'error', error: result.error });
  },
  async complete(callbackId) {
    const result = await invoke('callbacks:complete', { callbackId });
    if (!result.ok) {
      set({ error: result.error });
      return;
    }
    await get().load();
  },
}));

export function resetCallbackWorklistStore(): void {
  useCallbackWorklistStore.setState(initialState);
}
