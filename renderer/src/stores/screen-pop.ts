import { create } from 'zustand';
import type { CustomerDetail, IpcRequest } from '../../../shared/ipc.js';
import type { AppError, Result } from '../../../shared/result.js';
import { invoke } from '../api.js';
import type { CallerIdentity } from '../phone/caller-identity.js';
import { markAnswered, markAsked, markStored } from '../phone/screen-pop-marks.js';

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
  /**
   * Sends the lookup of a call that has not reached the phone store yet (its INVITE has just
   * arrived); `lookup` for the same call then waits for this answer instead of asking again.
   */
  askEarly(callId: string, identity: CallerIdentity, sipCallId: string): void;
  /**
   * `sipCallId`, when given, names the call in the screen pop's performance marks. The pop is
   * `loading` at once unless `showLoading` is false: then it stays absent until the answer, or
   * until `showLoading(callId)` (a ringing call shown in one frame with its customer).
   */
  lookup(callId: string, identity: CallerIdentity, knownCustomerId?: string | null, sipCallId?: string, options?: { showLoading: boolean }): Promise<Pop>;
  /** The call is on screen before its answer: its pop says "loading". Nothing if answered already. */
  showLoading(callId: string): void;
  /** "Create customer" from an unregistered caller's panel; the pop then shows the new customer. */
  createCustomer(callId: string, input: IpcRequest<'customers:create'>): Promise<Result<CustomerDetail>>;
  remove(callId: string): void;
}

type LookupAnswer = Result<CustomerDetail | null>;

/** Lookups sent by askEarly and not yet taken by `lookup`, with when they were sent. */
const askedEarly = new Map<string, { answer: Promise<LookupAnswer>; at: number }>();
/** An early lookup whose call never came (refused, dropped by sip.js) is forgotten after this. */
const ASKED_EARLY_TTL_MS = 30_000;
/**
 * Calls whose lookup is under way. A call removed meanwhile leaves this set, so that its
 * answer, arriving later, does not bring the pop back.
 */
const underWay = new Set<string>();

function askCore(identity: CallerIdentity, customerId: string | null, sipCallId: string | undefined): Promise<LookupAnswer> {
  const phone = identity.e164;
  const answer = invoke('customers:lookupCaller', {
    ...(phone === null ? {} : { phone }),
    ...(customerId === null ? {} : { customerId }),
  });
  if (sipCallId !== undefined) markAsked(sipCallId);
  return answer;
}

function setPop(pop: Pop): void {
  useScreenPopStore.setState((state) => ({ pops: { ...state.pops, [pop.callId]: pop } }));
}

export const useScreenPopStore = create<ScreenPopState>()((_set, get) => ({
  pops: {},
  askEarly(callId, identity, sipCallId) {
    if (identity.customerId === null && identity.e164 === null) return;
    const now = Date.now();
    for (const [id, asked] of askedEarly) if (now - asked.at > ASKED_EARLY_TTL_MS) askedEarly.delete(id);
    // A retransmitted INVITE is the same call: one lookup.
    if (askedEarly.has(callId)) return;
    askedEarly.set(callId, { answer: askCore(identity, identity.customerId, sipCallId), at: now });
  },
  async lookup(callId, identity, knownCustomerId = null, sipCallId, options) {
    const customerId = knownCustomerId ?? identity.customerId;
    const early = askedEarly.get(callId);
    askedEarly.delete(callId);
    if (customerId === null && identity.e164 === null) {
      const unknown: Pop = { callId, phase: 'unknown', detail: null, error: null };
      setPop(unknown);
      return unknown;
    }
    underWay.add(callId);
    if (options?.showLoading !== false) setPop({ callId, phase: 'loading', detail: null, error: null });
    // The early lookup asked for the INVITE's own customer id; a known one may differ.
    const result = await (early && customerId === identity.customerId ? early.answer : askCore(identity, customerId, sipCallId));
    if (sipCallId !== undefined) markAnswered(sipCallId);
    // The call may have ended and its pop been dropped while the answer was on its way.
    if (!underWay.delete(callId)) return { callId, phase: 'unknown', detail: null, error: null };
    const pop: Pop = result.ok
      ? { callId, phase: result.value ? 'found' : 'unknown', detail: result.value, error: null }
      : { callId, phase: 'error', detail: null, error: result.error };
    setPop(pop);
    if (sipCallId !== undefined) markStored(sipCallId);
    return pop;
  },
  async createCustomer(callId, input) {
    const result = await invoke('customers:create', input);
    if (result.ok) setPop({ callId, phase: 'found', detail: result.value, error: null });
    return result;
  },
  showLoading(callId) {
    if (underWay.has(callId) && !get().pops[callId]) setPop({ callId, phase: 'loading', detail: null, error: null });
  },
  remove(callId) {
    underWay.delete(callId);
    useScreenPopStore.setState((state) => {
      const pops = { ...state.pops };
      delete pops[callId];
      return { pops };
    });
  },
}));

export function resetScreenPopStore(): void {
  askedEarly.clear();
  underWay.clear();
  useScreenPopStore.setState({ pops: {} });
}
