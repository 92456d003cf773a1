import { create } from 'zustand';
import type { AgentStatusState, OutboxDelivery, SyncStatus } from '../../../shared/ipc.js';
import { useSyncStore } from '../stores/sync.js';

/** What was sent on reconnecting, for the "back online" line. */
export interface SentOnReconnect {
  notes: number;
  /** Incident changes, moved contacts, completed callbacks. */
  otherChanges: number;
  statusChanges: number;
}

interface OfflineState {
  /** The backend cannot be reached (only known once the core sent a status). */
  offline: boolean;
  /** Set from reconnecting until the line is dismissed; counts what the core sent meanwhile. */
  backOnline: SentOnReconnect | null;
  /** Counted while offline: the push that ends an outage runs before the status says online. */
  sentWhileOffline: SentOnReconnect;
  syncStatus(status: SyncStatus): void;
  delivered(delivery: OutboxDelivery): void;
  agentStatus(previous: AgentStatusState | null, next: AgentStatusState): void;
  dismissBackOnline(): void;
}

const NOTE_TYPES: ReadonlySet<string> = new Set(['add_note', 'log_call']);

function nothingSent(): SentOnReconnect {
  return { notes: 0, otherChanges: 0, statusChanges: 0 };
}

const initialState = { offline: false, backOnline: null, sentWhileOffline: nothingSent() } satisfies Partial<OfflineState>;

/**
 * The offline banner's state: whether the app is offline, and after an outage what was sent
 * once the backend was back. Only what was held back by the outage counts; a note sent while
 * online is no news.
 */
export const useOfflineStore = create<OfflineState>()((set, get) => ({
  ...initialState,
  syncStatus(status) {
    const { offline, sentWhileOffline } = get();
    if (!status.online && status.phase !== 'signed_out') {
      if (!offline) set({ offline: true, backOnline: null, sentWhileOffline: nothingSent() });
    } else if (offline) {
      set({ offline: false, backOnline: sentWhileOffline, sentWhileOffline: nothingSent() });
    }
  },
  delivered(delivery) {
    const sent = delivery.entries.filter((entry) => entry.outcome === 'sent');
    if (sent.length === 0) return;
    const notes = sent.filter((entry) => NOTE_TYPES.has(entry.type)).length;
    set((state) => add(state, { notes, otherChanges: sent.length - notes, statusChanges: 0 }));
  },
  agentStatus(previous, next) {
    if (!next.confirmed || (previous?.confirmed && previous.changedAt === next.changedAt)) return;
    set((state) => add(state, { notes: 0, otherChanges: 0, statusChanges: 1 }));
  },
  dismissBackOnline() {
    set({ backOnline: null });
  },
}));

function add(state: OfflineState, more: SentOnReconnect): Partial<OfflineState> {
  const sum = (counts: SentOnReconnect): SentOnReconnect => ({
    notes: counts.notes + more.notes,
    otherChanges: counts.otherChanges + more.otherChanges,
    statusChanges: counts.statusChanges + more.statusChanges,
  });
  if (state.offline) return { sentWhileOffline: sum(state.sentWhileOffline) };
  // Some of what waited goes just after the status says online (the operator's status does).
  if (state.backOnline) return { backOnline: sum(state.backOnline) };
  return {};
}

// Every way a status arrives (the core's event, the first load, "sync now") goes through the store.
useSyncStore.subscribe((state) => {
  if (state.status) useOfflineStore.getState().syncStatus(state.status);
});

export function resetOfflineStore(): void {
  useOfflineStore.setState({ ...initialState, sentWhileOffline: nothingSent() });
}
