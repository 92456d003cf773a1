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
  /** The history, while it is on screen (`open` to `close`); null otherwise. */
  view: CallHistoryView | null;
  /** The missed calls not yet seen, kept whether or not the history is on screen: the badge. */
  missedUnseen: number;
  /** Whether the history is on screen: only then does `refresh` fetch the list. */
  isOpen: boolean;
  phase: 'idle' | 'loading' | 'ready' | 'error';
  error: AppError | null;
  /** The latest missed call, until the operator dismisses it or opens the history. */
  notice: MissedNotice | null;
  /** The whole history (and its badge), kept while it is on screen. */
  load(): Promise<void>;
  /** The badge alone. */
  loadCounts(): Promise<void>;
  /**
   * After a missed call or a change: the list when it is on screen, else only the badge.
   * Important: the list is the backend's page of 200 calls merged with this computer's, and
   * every missed call asked for it: fetching it with the history closed cost the core a backend
   * request and the merge at each call (bench:memory, issue 13 item 7).
   */
  refresh(): Promise<void>;
  /** The history is shown: its missed calls are seen (the badge clears), and it is kept current. */
  open(): Promise<void>;
  /** The history is no longer shown: its list is let go, the badge stays. */
  close(): void;
  completeCallback(callbackId: string): Promise<void>;
  /** The phone reports a call that rang out: a notice, and a fresh badge. */
  noteMissed(notice: MissedNotice): void;
  dismissNotice(): void;
}

const initialState = { view: null, missedUnseen: 0, isOpen: false, phase: 'idle', error: null, notice: null } satisfies Partial<CallHistoryState>;

export const useCallHistoryStore = create<CallHistoryState>()((set, get) => ({
  ...initialState,
  async load() {
    if (get().view === null && get().isOpen) set({ phase: 'loading' });
    const result = await invoke('calls:history', undefined);
    // The history closed while this was on its way: its badge only, no list kept.
    if (result.ok) set(get().isOpen ? { view: result.value, missedUnseen: result.value.missedUnseen, phase: 'ready', error: null } : { missedUnseen: result.value.missedUnseen });
    else if (get().isOpen) set({ phase: 'error', error: result.error });
  },
  async loadCounts() {
    const result = await invoke('calls:historyCounts', undefined);
    if (result.ok && result.value.missedUnseen !== get().missedUnseen) set({ missedUnseen: result.value.missedUnseen });
  },
  refresh() {
    return get().isOpen ? get().load() : get().loadCounts();
  },
  async open() {
    set({ isOpen: true });
    closeMissedCallNotification();
    if (get().view === null) set({ phase: 'loading' });
    const result = await invoke('calls:historySeen', undefined);
    if (!get().isOpen) {
      if (result.ok) set({ missedUnseen: result.value.missedUnseen, notice: null });
      return;
    }
    if (result.ok) set({ view: result.value, missedUnseen: result.value.missedUnseen, phase: 'ready', error: null, notice: null });
    else set({ phase: 'error', error: result.error });
  },
  close() {
    set({ isOpen: false, view: null, phase: 'idle', error: null });
  },
  async completeCallback(callbackId) {
    const result = await invoke('callbacks:complete', { callbackId });
    if (!result.ok) {
      set({ error: result.error });
      return;
    }
    await get().refresh();
  },
  noteMissed(notice) {
    set({ notice });
    // The next call is often ringing already: its lookup and card go first (phone/pop-hold.ts).
    refreshAfterPops('call-history', () => void get().refresh());
  },
  dismissNotice() {
    closeMissedCallNotification();
    set({ notice: null });
  },
}));

export function resetCallHistoryStore(): void {
  useCallHistoryStore.setState(initialState);
}
