import { create } from 'zustand';
import type { SyncStatus } from '../../../shared/ipc.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';

interface SyncState {
  status: SyncStatus | null;
  /** The last failure to reach the core for a status (the status itself reports sync errors). */
  error: AppError | null;
  syncRequested: boolean;
  load(): Promise<void>;
  apply(status: SyncStatus): void;
  syncNow(): Promise<void>;
}

const initialState = { status: null, error: null, syncRequested: false } satisfies Partial<SyncState>;

export const useSyncStore = create<SyncState>()((set) => ({
  ...initialState,
  async load() {
    const result = await invoke('sync:status', undefined);
    if (result.ok) set({ status: result.value, error: null });
    else set({ error: result.error });
  },
  apply(status) {
    set({ status, error: null });
  },
  async syncNow() {
    set({ syncRequested: true });
    const result = await invoke('sync:now', undefined);
    if (result.ok) set({ status: result.value, error: null, syncRequested: false });
    else set({ error: result.error, syncRequested: false });
  },
}));

/**
 * Whether a new status means the cache holds something the open customer panel does not show
 * yet: a sync finished (lastSyncedAt moved) or the outbox drained (a pending note was sent).
 */
export function bringsNewData(previous: SyncStatus | null, next: SyncStatus): boolean {
  if (!previous) return false;
  return previous.lastSyncedAt !== next.lastSyncedAt || previous.pendingOutbox !== next.pendingOutbox;
}

export function resetSyncStore(): void {
  useSyncStore.setState(initialState);
}
