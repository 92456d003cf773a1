import { create } from 'zustand';
import type { ReplyView, ReviewQueueItem, SupervisorSummary } from '../../../../shared/api.js';
import type { AppError, Result } from '../../../../shared/result.js';
import { invoke } from '../../api.js';

interface ReviewState {
  phase: 'idle' | 'loading' | 'ready' | 'error';
  /** Oldest submission first, as the backend orders them. */
  items: ReviewQueueItem[];
  error: AppError | null;
  selectedId: string | null;
  failed: ReplyView[];
  failedError: AppError | null;
  summary: SupervisorSummary | null;
  summaryError: AppError | null;
  /** When the summary arrived here, to let "time in status" run on between pushes. */
  summaryReceivedAt: number;
  load(): Promise<void>;
  select(replyId: string): void;
  /** j/k: the next or previous reply in the queue. */
  move(delta: 1 | -1): void;
  approve(replyId: string, editedBody: string | undefined): Promise<Result<ReplyView>>;
  returnReply(replyId: string, comment: string): Promise<Result<ReplyView>>;
  loadFailed(): Promise<void>;
  requeue(replyId: string): Promise<Result<ReplyView>>;
  loadSummary(): Promise<void>;
  /**
   * A pushed summary. The queue and the failed list are fetched again only when their counts
   * moved, so a supervisor's half-typed edit is not disturbed by every push.
   */
  applySummary(summary: SupervisorSummary): void;
}

const initialState = {
  phase: 'idle',
  items: [],
  error: null,
  selectedId: null,
  failed: [],
  failedError: null,
  summary: null,
  summaryError: null,
  summaryReceivedAt: 0,
} satisfies Partial<ReviewState>;

let generation = 0;
let failedGeneration = 0;

export const useReviewStore = create<ReviewState>()((set, get) => ({
  ...initialState,
  async load() {
    const mine = ++generation;
    if (get().phase !== 'ready') set({ phase: 'loading' });
    const result = await invoke('review:queue', undefined);
    if (mine !== generation) return;
    if (!result.ok) {
      set({ phase: 'error', error: result.error });
      return;
    }
    const items = result.value;
    const selectedId = items.some((item) => item.reply.id === get().selectedId) ? get().selectedId : (items[0]?.reply.id ?? null);
    set({ phase: 'ready', items, error: null, selectedId });
  },
  select(replyId) {
    set({ selectedId: replyId });
  },
  move(delta) {
    const { items, selectedId } = get();
    if (items.length === 0) return;
    const index = items.findIndex((item) => item.reply.id === selectedId);
    const next = index < 0 ? 0 : Math.min(items.length - 1, Math.max(0, index + delta));
    set({ selectedId: items[next]!.reply.id });
  },
  async approve(replyId, editedBody) {
    const result = await invoke('review:approve', editedBody === undefined ? { replyId } : { replyId, body: editedBody });
    if (result.ok) removeFromQueue(replyId);
    return result;
  },
  async returnReply(replyId, comment) {
    const result = await invoke('review:return', { replyId, comment });
    if (result.ok) removeFromQueue(replyId);
    return result;
  },
  async loadFailed() {
    const mine = ++failedGeneration;
    const result = await invoke('review:failed', undefined);
    if (mine !== failedGeneration) return;
    if (result.ok) set({ failed: result.value, failedError: null });
    else set({ failedError: result.error });
  },
  async requeue(replyId) {
    const result = await invoke('review:requeue', { replyId });
    if (result.ok) set({ failed: get().failed.filter((reply) => reply.id !== replyId) });
    return result;
  },
  async loadSummary() {
    const result = await invoke('supervisor:summary', undefined);
    if (result.ok) get().applySummary(result.value);
    else set({ summaryError: result.error });
  },
  applySummary(summary) {
    const previous = get().summary;
    set({ summary, summaryError: null, summaryReceivedAt: Date.now() });
    if (get().phase !== 'idle' && (previous === null || previous.mails.pendingReview !== summary.mails.pendingReview || summary.mails.pendingReview !== get().items.length)) {
      void get().load();
    }
    if (previous === null || previous.mails.failed !== summary.mails.failed) void get().loadFailed();
  },
}));

/** The reviewed reply leaves the queue at once; the selection moves to the next one. */
function removeFromQueue(replyId: string): void {
  const { items, selectedId } = useReviewStore.getState();
  const index = items.findIndex((item) => item.reply.id === replyId);
  const rest = items.filter((item) => item.reply.id !== replyId);
  const nextSelected = selectedId === replyId ? (rest[Math.min(index, rest.length - 1)]?.reply.id ?? null) : selectedId;
  useReviewStore.setState({ items: rest, selectedId: nextSelected });
}

export function resetReviewStore(): void {
  generation += 1;
  failedGeneration += 1;
  useReviewStore.setState(initialState);
}
