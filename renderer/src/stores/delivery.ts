import { create } from 'zustand';
import type { OutboxDelivery } from '../../../shared/ipc.js';

/**
 * What the backend did with the notes and wrap-ups this window saved, by the entry's client id
 * (the id of its pending contact), so a confirmation can say "sent" only once it was.
 */

export type DeliveryOutcome = { outcome: 'sent' } | { outcome: 'rejected'; error: string | null };

/** Enough for every confirmation still on screen; older answers are forgotten. */
const REMEMBERED_OUTCOMES = 200;

interface DeliveryState {
  outcomes: Record<string, DeliveryOutcome>;
  record(delivery: OutboxDelivery): void;
}

export const useDeliveryStore = create<DeliveryState>()((set, get) => ({
  outcomes: {},
  record(delivery) {
    const outcomes = { ...get().outcomes };
    for (const entry of delivery.entries) {
      delete outcomes[entry.clientId];
      outcomes[entry.clientId] = entry.outcome === 'sent' ? { outcome: 'sent' } : { outcome: 'rejected', error: entry.error };
    }
    const ids = Object.keys(outcomes);
    for (const id of ids.slice(0, Math.max(0, ids.length - REMEMBERED_OUTCOMES))) delete outcomes[id];
    set({ outcomes });
  },
}));

export function resetDeliveryStore(): void {
  useDeliveryStore.setState({ outcomes: {} });
}
