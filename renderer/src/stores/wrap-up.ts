import { create } from 'zustand';
import type { CachedContact, CallWrapUpInput, CustomerDetail } from '../../../shared/ipc.js';
import type { AppError, Result } from '../../../shared/result.js';
import { invoke } from '../api.js';
import type { Call } from '../phone/call-machine.js';
import { useCustomerStore } from './customer.js';
import { useSyncStore } from './sync.js';

/**
 * Calls waiting for their wrap-up, oldest first: which incident the call belongs to (or a new
 * one), what was said, the disposition and whether a callback is needed. Saved through the
 * core's outbox, so it works offline and shows at once as a pending contact in the tree.
 */

export interface WrapUpItem {
  call: Call;
  /** The customer the call was with; null while unknown (a customer may still be created). */
  customer: CustomerDetail | null;
}

export type WrapUpIncident = { kind: 'existing'; incidentId: string } | { kind: 'new'; title: string };

export interface WrapUpForm {
  incident: WrapUpIncident;
  summary: string;
  disposition: string;
  callbackNeeded: boolean;
  /** When the callback is due (only with callbackNeeded). */
  callbackDueAt: string | null;
}

interface WrapUpState {
  queue: WrapUpItem[];
  saving: boolean;
  error: AppError | null;
  /** The last saved call, for the confirmation (sending / waiting to send / sent). */
  lastSaved: { sipCallId: string; clientId: string } | null;
  add(item: WrapUpItem): void;
  /** A customer created for the caller after the call ended. */
  attachCustomer(sipCallId: string, customer: CustomerDetail): void;
  save(sipCallId: string, form: WrapUpForm): Promise<Result<CachedContact> | null>;
  dismiss(sipCallId: string): void;
  clearSaved(): void;
}

/** Called when the queue empties (after-call work may end). Set by the phone store. */
let onQueueEmptied: () => void = () => undefined;
export function setWrapUpQueueEmptiedHandler(handler: () => void): void {
  onQueueEmptied = handler;
}

function remote(call: Call): string {
  return (call.identity.e164 ?? call.identity.user ?? call.target ?? '').slice(0, 100);
}

export function wrapUpInput(item: WrapUpItem, form: WrapUpForm): CallWrapUpInput | null {
  if (!item.customer || item.call.endedAt === null) return null;
  return {
    callId: item.call.sipCallId,
    customerId: item.customer.customer.id,
    incidentId: form.incident.kind === 'existing' ? form.incident.incidentId : null,
    newIncidentTitle: form.incident.kind === 'new' ? form.incident.title.trim() : null,
    direction: item.call.direction,
    summary: form.summary.trim(),
    body: '',
    disposition: form.disposition,
    callbackNeeded: form.callbackNeeded,
    callbackDueAt: form.callbackNeeded ? form.callbackDueAt : null,
    remote: remote(item.call),
    startedAt: item.call.startedAt,
    answeredAt: item.call.answeredAt,
    endedAt: item.call.endedAt,
  };
}

export const useWrapUpStore = create<WrapUpState>()((set, get) => ({
  queue: [],
  saving: false,
  error: null,
  lastSaved: null,
  add(item) {
    if (get().queue.some((queued) => queued.call.sipCallId === item.call.sipCallId)) return;
    set({ queue: [...get().queue, item] });
  },
  attachCustomer(sipCallId, customer) {
    set({ queue: get().queue.map((item) => (item.call.sipCallId === sipCallId ? { ...item, customer } : item)) });
  },
  async save(sipCallId, form) {
    const item = get().queue.find((queued) => queued.call.sipCallId === sipCallId);
    const input = item ? wrapUpInput(item, form) : null;
    if (!item || !input || get().saving) return null;
    set({ saving: true, error: null });
    const result = await invoke('calls:wrapUp', input);
    if (!result.ok) {
      set({ saving: false, error: result.error });
      return result;
    }
    set({
      saving: false,
      queue: get().queue.filter((queued) => queued.call.sipCallId !== sipCallId),
      lastSaved: { sipCallId, clientId: result.value.id },
    });
    const shown = useCustomerStore.getState();
    if (shown.selectedId === input.customerId) await shown.refresh();
    void useSyncStore.getState().load();
    if (get().queue.length === 0) onQueueEmptied();
    return result;
  },
  clearSaved() {
    set({ lastSaved: null });
  },
  dismiss(sipCallId) {
    set({ queue: get().queue.filter((queued) => queued.call.sipCallId !== sipCallId), error: null });
    if (get().queue.length === 0) onQueueEmptied();
  },
}));

export function resetWrapUpStore(): void {
  useWrapUpStore.setState({ queue: [], saving: false, error: null, lastSaved: null });
}
