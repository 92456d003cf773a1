import { create } from 'zustand';
import type { ReplyView } from '../../../../shared/api.js';
import type { AppError } from '../../../../shared/result.js';
import { invoke } from '../../api.js';

interface ReturnedState {
  phase: 'idle' | 'loading' | 'ready' | 'error';
  replies: ReplyView[];
  error: AppError | null;
  selectedId: string | null;
  load(): Promise<void>;
  select(replyId: string | null): void;
  /** A returned reply was resubmitted: it leaves the list. */
  resubmitted(replyId: string): void;
}

const initialState = { phase: 'idle', replies: [], error: null, selectedId: null } satisfies Partial<ReturnedState>;

let generation = 0;

/** The operator's replies a supervisor returned, with the comment, newest first. */
export const useReturnedRepliesStore = create<ReturnedState>()((set, get) => ({
  ...initialState,
  async load() {
    const mine = ++generation;
    if (get().phase !== 'ready') set({ phase: 'loading' });
    const result = await invoke('reply:myReplies', { state: 'returned' });
    if (mine !== generation) return;
    if (result.ok) {
      const selectedId = result.value.some((reply) => reply.id === get().selectedId) ? get().selectedId : null;
      set({ phase: 'ready', replies: result.value, error: null, selectedId });
    } else {
      set({ phase: 'error', error: result.error });
    }
  },
  select(replyId) {
    set({ selectedId: replyId });
  },
  resubmitted(replyId) {
    set({ replies: get().replies.filter((reply) => reply.id !== replyId), selectedId: null });
  },
}));

export function resetReturnedRepliesStore(): void {
  generation += 1;
  useReturnedRepliesStore.setState(initialState);
}
