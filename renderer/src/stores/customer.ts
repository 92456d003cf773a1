import { create } from 'zustand';
import type { CachedContact, CustomerDetail } from '../../../shared/ipc.js';
import type { AppError, Result } from '../../../shared/result.js';
import { invoke } from '../api.js';

interface CustomerState {
  selectedId: string | null;
  detail: CustomerDetail | null;
  /** `loading` only while nothing for the selected customer is shown yet; refreshes keep the old detail. */
  phase: 'empty' | 'loading' | 'ready' | 'error';
  error: AppError | null;
  select(customerId: string): Promise<void>;
  /** Shows a detail already in hand (the screen pop's), cancelling any load in flight. */
  show(detail: CustomerDetail): void;
  /** Empties the panel (an unknown caller: nothing of the previous customer stays on screen). */
  clear(): void;
  refresh(): Promise<void>;
  addNote(incidentId: string, body: string): Promise<Result<CachedContact>>;
}

const initialState = { selectedId: null, detail: null, phase: 'empty', error: null } satisfies Partial<CustomerState>;

/** Same rule as search: a late answer for a customer no longer selected is dropped. */
let latestRequest = 0;

async function load(customerId: string): Promise<void> {
  const request = ++latestRequest;
  const result = await invoke('customers:get', { customerId });
  if (request !== latestRequest) return;
  if (result.ok) useCustomerStore.setState({ detail: result.value, phase: 'ready', error: null });
  else if (result.error.code === 'not_found' || result.error.code === 'forbidden') {
    // Gone or no longer allowed (the user's rights shrank): nothing of it stays on screen.
    useCustomerStore.setState({ detail: null, phase: 'error', error: result.error });
  } else useCustomerStore.setState({ phase: 'error', error: result.error });
}

export const useCustomerStore = create<CustomerState>()((set, get) => ({
  ...initialState,
  async select(customerId) {
    if (get().selectedId === customerId && get().phase === 'ready') return load(customerId);
    set({ selectedId: customerId, detail: null, phase: 'loading', error: null });
    return load(customerId);
  },
  show(detail) {
    latestRequest += 1;
    set({ selectedId: detail.customer.id, detail, phase: 'ready', error: null });
  },
  clear() {
    latestRequest += 1;
    set(initialState);
  },
  async refresh() {
    const { selectedId } = get();
    if (selectedId) await load(selectedId);
  },
  async addNote(incidentId, body) {
    const result = await invoke('notes:add', { incidentId, body });
    if (result.ok) await get().refresh();
    return result;
  },
}));

export function resetCustomerStore(): void {
  latestRequest += 1;
  useCustomerStore.setState(initialState);
}
