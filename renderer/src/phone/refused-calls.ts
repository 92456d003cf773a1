import { create } from 'zustand';
import type { RefusedCallEvent } from '../../../shared/ipc.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';

/**
 * Call records the backend refused after the core had queued them (`calls:refused`): the
 * operator sees each one and sends it again or discards it. Nothing is dropped unseen.
 */
interface RefusedCallsState {
  refused: RefusedCallEvent[];
  /** Why the last resend or discard did not work (the core's answer), shown with the list. */
  error: AppError | null;
  load(): Promise<void>;
  changed(refused: RefusedCallEvent[]): void;
  resend(id: string): Promise<void>;
  discard(id: string): Promise<void>;
}

export const useRefusedCallsStore = create<RefusedCallsState>((set) => {
  const apply = async (channel: 'calls:resendRefused' | 'calls:discardRefused', id: string) => {
    const result = await invoke(channel, { id });
    if (result.ok) set({ refused: result.value, error: null });
    else set({ error: result.error });
  };
  return {
    refused: [],
    error: null,
    async load() {
      const result = await invoke('calls:refused', undefined);
      if (result.ok) set({ refused: result.value, error: null });
    },
    changed(refused) {
      set({ refused });
    },
    resend: (id) => apply('calls:resendRefused', id),
    discard: (id) => apply('calls:discardRefused', id),
  };
});
