import { create } from 'zustand';
import type { CallHistoryView } from '../../../shared/ipc.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { closeMissedCallNotification } from '../phone/notifications.js';
import { refreshAfterPops } from '../phone/pop-hold.js';

export interface MissedNotice {
  callId: string;
  remote: string;
  customerName: string | null;
}

interface CallHistoryState {
  view: CallHistoryView | null;
  phase: 'idle' | 'loading' | 'ready' | 'error';
  error: AppError | null;
  /** The latest missed call, until the operator dismisses it or opens the history. */
  notice: MissedNotice | null;
  load(): Promise<void>;
  /** The history is on screen: its missed calls are seen (the badge clears). */
  markSeen(): Promise<void>;
  completeCallback(callbackId: string): Promise<void>;
  /** The phone reports a call that rang out: a notice, and a fresh history for the badge. */
  noteMissed(notice: MissedNotice): void;
  dismissNotice(): void;
}

const initialState = { view: null, phase: 'idle', error: null, notice: null } satisfies Partial<CallHistoryState>;

export const useCallHistoryStore = create<CallHistoryState>()((set, get) => ({
  ...initialState,
  async load() {
    if (get().view === null) set({ phase: 'loading' });
    const result = await invoke('calls:history', undefined);
    if (result.ok) set({ view: result.value, phase: 'ready', error: null });
    else set({ phase: 'error', error: result.error });
  },
  async markSeen() {
    closeMissedCallNotification();
    const result = await invoke('calls:historySeen', undefined);
    if (result.ok) set({ view: result.value, phase: 'ready', error: null, notice: null });
    else set({ phase: 'error', error: result.error });
  },
  async completeCallback(callbackId) {
    const result = await invoke('callbacks:complete', { callbackId });
    if (!result.ok) {
      set({ error: result.error });
      return;
    }
    await get().load();
  },
  noteMissed(notice) {
    set({ notice });
    // The next call is often ringing already: its lookup and card go first (phone/pop-hold.ts).
    refreshAfterPops('call-history', () => void get().load());
  },
  dismissNotice() {
    closeMissedCallNotification();
    set({ notice: null });
  },
}));

export function resetCallHistoryStore(): void {
  useCallHistoryStore.setState(initialState);
}
