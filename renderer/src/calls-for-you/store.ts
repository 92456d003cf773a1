import { create } from 'zustand';
import type { CallbackText, CallHandlingAction, Seminar } from '../../../shared/calls-for-you.js';
import type { CallsForYouView } from '../../../shared/ipc.js';
import type { CallsForYouScope } from '../../../shared/permissions.js';
import type { AppError, Result } from '../../../shared/result.js';
import { invoke } from '../api.js';

type Counts = CallsForYouView['counts'];

interface CallsForYouState {
  scope: CallsForYouScope;
  /** The list, while it is on screen (`openList` to `closeList`); null otherwise. */
  view: CallsForYouView | null;
  /** The scope's counts, kept whether or not the list is on screen: the badge, the nav, the reminder. */
  counts: Counts | null;
  /** Whether the list is on screen: only then does `refresh` fetch the entries. */
  listOpen: boolean;
  phase: 'idle' | 'loading' | 'ready' | 'error';
  error: AppError | null;
  seminars: Seminar[];
  /** The whole list (and its counts), kept while the list is open. */
  load(): Promise<void>;
  /** The counts alone. */
  loadCounts(): Promise<void>;
  /**
   * After new data: the list when it is on screen, else only the counts. Important: the list
   * holds every call of the shift, and this runs after every sync that brought anything (each
   * call brings some): fetching and parsing the whole list then cost the core and the window
   * more with every call taken (bench:memory, issue 13 item 7).
   */
  refresh(): Promise<void>;
  /** The list is shown: fetch it and keep it current. */
  openList(): Promise<void>;
  /** The list is no longer shown: its entries are let go, the counts stay. */
  closeList(): void;
  setScope(scope: CallsForYouScope): Promise<void>;
  loadSeminars(): Promise<void>;
  /** Queues the handling (outbox) and shows the entry handled, pending until sent. */
  handle(input: { callKey: string; customerId: string; action: CallHandlingAction }): Promise<Result<null>>;
  callbackText(callKey: string): Promise<Result<CallbackText>>;
}

const initialState = { scope: 'mine', view: null, counts: null, listOpen: false, phase: 'idle', error: null, seminars: [] } satisfies Partial<CallsForYouState>;

export const useCallsForYouStore = create<CallsForYouState>()((set, get) => ({
  ...initialState,
  async load() {
    const scope = get().scope;
    if (get().view === null) set({ phase: 'loading' });
    const result = await invoke('callsForYou:list', { scope });
    // A slower answer for a scope the user already left is dropped.
    if (get().scope !== scope) return;
    // The list closed while this was on its way: its counts only, no entries kept.
    if (result.ok) set(get().listOpen ? { view: result.value, counts: result.value.counts, phase: 'ready', error: null } : { counts: result.value.counts });
    else if (get().listOpen) set({ phase: 'error', error: result.error });
  },
  async loadCounts() {
    const scope = get().scope;
    const result = await invoke('callsForYou:counts', { scope });
    if (get().scope !== scope || !result.ok) return;
    // Unchanged counts keep their object: nothing that shows them renders again.
    const known = get().counts;
    if (known?.handled !== result.value.handled || known.unhandled !== result.value.unhandled) set({ counts: result.value });
  },
  refresh() {
    return get().listOpen ? get().load() : get().loadCounts();
  },
  openList() {
    set({ listOpen: true });
    return get().load();
  },
  closeList() {
    set({ listOpen: false, view: null, phase: 'idle', error: null });
  },
  async setScope(scope) {
    set({ scope, view: null, counts: null });
    await get().refresh();
  },
  async loadSeminars() {
    const result = await invoke('callsForYou:seminars', undefined);
    if (result.ok) set({ seminars: result.value });
  },
  async handle(input) {
    const result = await invoke('callsForYou:handle', { ...input, incidentId: null });
    if (result.ok) await get().refresh();
    return result;
  },
  callbackText(callKey) {
    return invoke('callsForYou:callbackText', { callKey });
  },
}));

export function resetCallsForYouStore(): void {
  useCallsForYouStore.setState(initialState);
}
