import { create } from 'zustand';
import { MAX_SEARCH_OFFSET, type SearchHit, type SearchResult } from '../../../shared/ipc.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';

/** Long enough to skip the intermediate strings of fast typing, short enough to feel instant. */
export const SEARCH_DEBOUNCE_MS = 150;
export const SEARCH_LIMIT = 30;

export type SearchPhase = 'idle' | 'searching' | 'done' | 'error';
/** Loading the next page of an answered query (the shown results stay). */
export type MorePhase = 'idle' | 'loading' | 'error';

interface SearchState {
  query: string;
  /** The query the shown results answer (may lag `query` while typing). */
  answeredQuery: string;
  results: SearchHit[];
  source: SearchResult['source'] | null;
  /** Customers matching the answered query; a lower bound when `totalExact` is false. */
  total: number;
  totalExact: boolean;
  phase: SearchPhase;
  morePhase: MorePhase;
  error: AppError | null;
  /** Index of the keyboard-highlighted result; -1 when none. */
  activeIndex: number;
  setQuery(query: string): void;
  moveActive(delta: 1 | -1): void;
  setActive(index: number): void;
  /** Appends the next page of the answered query. */
  loadMore(): Promise<void>;
}

/** Whether more results of the answered query can be loaded. */
export function hasMoreResults(state: Pick<SearchState, 'results' | 'total' | 'totalExact'>): boolean {
  if (state.results.length >= MAX_SEARCH_OFFSET) return false;
  return state.results.length < state.total || (!state.totalExact && state.results.length > 0);
}

const initialState = {
  query: '',
  answeredQuery: '',
  results: [],
  source: null,
  total: 0,
  totalExact: true,
  phase: 'idle',
  morePhase: 'idle',
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
      set({ answeredQuery: '', results: [], source: null, total: 0, totalExact: true, phase: 'idle', morePhase: 'idle', error: null, activeIndex: -1 });
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
            total: result.value.total,
            totalExact: result.value.totalExact,
            phase: 'done',
            morePhase: 'idle',
            error: null,
            activeIndex: -1,
          });
        } else {
          set({ answeredQuery: trimmed, results: [], source: null, total: 0, totalExact: true, phase: 'error', error: result.error, activeIndex: -1 });
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
  async loadMore() {
    const state = get();
    if (state.phase !== 'done' || state.morePhase === 'loading' || !hasMoreResults(state)) return;
    const request = latestRequest;
    set({ morePhase: 'loading' });
    const result = await invoke('customers:search', { query: state.answeredQuery, limit: SEARCH_LIMIT, offset: state.results.length });
    // The query changed meanwhile: this page belongs to an answer no longer shown.
    if (request !== latestRequest) return;
    if (!result.ok) {
      set({ morePhase: 'error', error: result.error });
      return;
    }
    const shown = new Set(get().results.map((hit) => hit.id));
    set({
      results: [...get().results, ...result.value.customers.filter((hit) => !shown.has(hit.id))],
      total: result.value.total,
      totalExact: result.value.totalExact,
      morePhase: 'idle',
      error: null,
    });
  },
}));

export function resetSearchStore(): void {
  cancelPending();
  useSearchStore.setState(initialState);
}
