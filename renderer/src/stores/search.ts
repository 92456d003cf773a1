import { create } from 'zustand';
import type { CustomerSummary } from '../../../shared/api.js';
import type { SearchResult } from '../../../shared/ipc.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';

/** Long enough to skip the intermediate strings of fast typing, short enough to feel instant. */
export const SEARCH_DEBOUNCE_MS = 150;
export const SEARCH_LIMIT = 30;

export type SearchPhase = 'idle' | 'searching' | 'done' | 'error';

interface SearchState {
  query: string;
  /** The query the shown results answer (may lag `query` while typing). */
  answeredQuery: string;
  results: CustomerSummary[];
  source: SearchResult['source'] | null;
  phase: SearchPhase;
  error: AppError | null;
  /** Index of the keyboard-highlighted result; -1 when none. */
  activeIndex: number;
  setQuery(query: string): void;
  moveActive(delta: 1 | -1): void;
  setActive(index: number): void;
}

const initialState = {
  query: '',
  answeredQuery: '',
  results: [],
  source: null,
  phase: 'idle',
  error: null,
  activeIndex: -1,
} satisfies Partial<SearchState>;

let debounceTimer: ReturnType<typeof setTimeout> | null = null;
/** Only the answer to the newest request is shown; an older one arriving late is dropped. */
let latestRequest = 0;

function cancelPending(): void {
  if (debounceTimer) clearTimeout(debounceTimer);
  debounceTimer = null;
  latestRequest += 1;
}

export const useSearchStore = create<SearchState>()((set, get) => ({
  ...initialState,
  setQuery(query) {
    cancelPending();
    set({ query });
    const trimmed = query.trim();
    if (trimmed === '') {
      set({ answeredQuery: '', results: [], source: null, phase: 'idle', error: null, activeIndex: -1 });
      return;
    }
    debounceTimer = setTimeout(() => {
      debounceTimer = null;
      const request = ++latestRequest;
      set({ phase: 'searching' });
      void invoke('customers:search', { query: trimmed, limit: SEARCH_LIMIT }).then((result) => {
        if (request !== latestRequest) return;
        if (result.ok) {
          set({
            answeredQuery: trimmed,
            results: result.value.customers,
            source: result.value.source,
            phase: 'done',
            error: null,
            activeIndex: -1,
          });
        } else {
          set({ answeredQuery: trimmed, results: [], source: null, phase: 'error', error: result.error, activeIndex: -1 });
        }
      });
    }, SEARCH_DEBOUNCE_MS);
  },
  moveActive(delta) {
    const { results, activeIndex } = get();
    if (results.length === 0) return;
    const next = activeIndex < 0 ? (delta === 1 ? 0 : results.length - 1) : (activeIndex + delta + results.length) % results.length;
    set({ activeIndex: next });
  },
  setActive(index) {
    const { results } = get();
    if (index >= -1 && index < results.length) set({ activeIndex: index });
  },
}));

export function resetSearchStore(): void {
  cancelPending();
  useSearchStore.setState(initialState);
}
