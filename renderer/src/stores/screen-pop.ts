import { create } from 'zustand';
import type { CustomerDetail, IpcRequest } from '../../../shared/ipc.js';
import type { AppError, Result } from '../../../shared/result.js';
import { invoke } from '../api.js';
import type { CallerIdentity } from '../phone/caller-identity.js';
import { markAnswered } from '../phone/screen-pop-marks.js';

/**
 * What the app knows about the other party of each call: looked up in the local cache (the
 * core falls back to the backend on a miss) the moment the INVITE arrives, before anyone
 * answers. An IVR customer id wins over the number.
 */

export type PopPhase = 'loading' | 'found' | 'unknown' | 'error';

export interface Pop {
  callId: string;
  phase: PopPhase;
  detail: CustomerDetail | null;
  error: AppError | null;
}

interface ScreenPopState {
  pops: Record<string, Pop>;
  /** `sipCallId`, when given, names the call in the screen pop's performance marks. */
  lookup(callId: string, identity: CallerIdentity, knownCustomerId?: string | null, sipCallId?: string): Promise<Pop>;
  /** "Create customer" from an unregistered caller's panel; the pop then shows the new customer. */
  createCustomer(callId: string, input: IpcRequest<'customers:create'>): Promise<Result<CustomerDetail>>;
  remove(callId: string): void;
}

function setPop(pop: Pop): void {
  useScreenPopStore.setState((state) => ({ pops: { ...state.pops, [pop.callId]: pop } }));
}

export const useScreenPopStore = create<ScreenPopState>()((_set, get) => ({
  pops: {},
  async lookup(callId, identity, knownCustomerId = null, sipCallId) {
    const customerId = knownCustomerId ?? identity.customerId;
    const phone = identity.e164;
    if (customerId === null && phone === null) {
      const unknown: Pop = { callId, phase: 'unknown', detail: null, error: null };
      setPop(unknown);
      return unknown;
    }
    setPop({ callId, phase: 'loading', detail: null, error: null });
    const result = await invoke('customers:lookupCaller', {
      ...(phone === null ? {} : { phone }),
      ...(customerId === null ? {} : { customerId }),
    });
    if (sipCallId !== undefined) markAnswered(sipCallId);
    // The call may have ended and its pop been dropped while the answer was on its way.
    if (!get().pops[callId]) return { callId, phase: 'unknown', detail: null, error: null };
    const pop: Pop = result.ok
      ? { callId, phase: result.value ? 'found' : 'unknown', detail: result.value, error: null }
      : { callId, phase: 'error', detail: null, error: result.error };
    setPop(pop);
    return pop;
  },
  async createCustomer(callId, input) {
    const result = await invoke('customers:create', input);
    if (result.ok) setPop({ callId, phase: 'found', detail: result.value, error: null });
    return result;
  },
  remove(callId) {
    useScreenPopStore.setState((state) => {
      const pops = { ...state.pops };
      delete pops[callId];
      return { pops };
    });
  },
}));

export function resetScreenPopStore(): void {
  useScreenPopStore.setState({ pops: {} });
}
