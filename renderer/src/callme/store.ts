import { create } from 'zustand';
import type { CallMeOffer } from '../../../shared/callme.js';
import type { AppError } from '../../../shared/result.js';
import { invoke, onCoreEvent } from '../api.js';
import { useWorkAreaStore } from '../mail/stores/work-area.js';
import { usePhoneStore } from '../stores/phone.js';

/**
 * "Call me" in the app: the offer the backend holds for this operator (pushed by the core when
 * the event stream says it changed), accept or decline, and on accept the app dials the
 * customer itself with the screen pop, so the operator is on the line first. When that call
 * ends, the request is closed with its outcome.
 */

interface Dialling {
  requestId: string;
  /** The softphone's id of the call placed for it. */
  callId: string;
}

interface CallMeStoreState {
  offer: CallMeOffer | null;
  busy: boolean;
  error: AppError | null;
  dialling: Dialling | null;
  load(): Promise<void>;
  received(offer: CallMeOffer | null): void;
  accept(): Promise<void>;
  decline(): Promise<void>;
}

/** Offers received so far: an answer to a question asked before the latest one is stale. */
let pushes = 0;

async function close(requestId: string, outcome: 'answered' | 'no_answer', sipCallId: string | null): Promise<void> {
  await invoke('callme:complete', { id: requestId, outcome, callId: sipCallId });
  useCallMeStore.setState({ dialling: null });
}

/** Closes the request once its call ends (answered or not). */
function followCall(dialling: Dialling): void {
  const stop = usePhoneStore.subscribe((state) => {
    const call = state.calls.find((c) => c.id === dialling.callId);
    if (call && call.state !== 'ended') return;
    stop();
    void close(dialling.requestId, call?.answeredAt ? 'answered' : 'no_answer', call?.sipCallId ?? null);
  });
}

export const useCallMeStore = create<CallMeStoreState>()((set, get) => ({
  offer: null,
  busy: false,
  error: null,
  dialling: null,
  async load() {
    const asked = pushes;
    const result = await invoke('callme:offer', null);
    // An offer pushed while this question was on its way is newer than its answer.
    if (result.ok && asked === pushes) get().received(result.value.offer);
  },
  received(offer) {
    pushes += 1;
    set({ offer, error: null });
  },
  async accept() {
    const offer = get().offer;
    if (!offer || get().busy) return;
    set({ busy: true, error: null });
    const accepted = await invoke('callme:accept', { id: offer.id });
    if (!accepted.ok) {
      set({ busy: false, error: accepted.error, offer: null });
      return;
    }
    useWorkAreaStore.getState().show('customers');
    const before = new Set(usePhoneStore.getState().calls.map((call) => call.id));
    const dialled = await usePhoneStore.getState().dial(accepted.value.number, accepted.value.customerId);
    const call = usePhoneStore.getState().calls.find((c) => !before.has(c.id) && c.direction === 'outbound');
    set({ busy: false, offer: null });
    if (!dialled || !call) {
      // The phone could not place it (not registered, busy): the request ends unanswered rather than stay "calling you now".
      await close(offer.id, 'no_answer', null);
      return;
    }
    const dialling = { requestId: offer.id, callId: call.id };
    set({ dialling });
    followCall(dialling);
  },
  async decline() {
    const offer = get().offer;
    if (!offer || get().busy) return;
    set({ busy: true, error: null });
    const result = await invoke('callme:decline', { id: offer.id });
    set({ busy: false, offer: null, error: result.ok ? null : result.error });
  },
}));

/** Listens for offers for as long as the workspace is shown. */
export function followCallMeOffers(): () => void {
  const stop = onCoreEvent('callme:offer', ({ offer }) => useCallMeStore.getState().received(offer));
  void useCallMeStore.getState().load();
  return stop;
}

export function resetCallMeStore(): void {
  useCallMeStore.setState({ offer: null, busy: false, error: null, dialling: null });
}
