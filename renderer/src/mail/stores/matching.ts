import { create } from 'zustand';
import type { MailMatchRequest, MailView } from '../../../../shared/api.js';
import type { AppError, Result } from '../../../../shared/result.js';
import { invoke } from '../../api.js';

interface MatchingState {
  phase: 'idle' | 'loading' | 'ready' | 'error';
  mails: MailView[];
  error: AppError | null;
  load(): Promise<void>;
  /** Files the mail where the operator decided; it leaves the list and joins the queue. */
  match(mailId: string, target: MailMatchRequest['target']): Promise<Result<MailView>>;
}

const initialState = { phase: 'idle', mails: [], error: null } satisfies Partial<MatchingState>;

let generation = 0;

/** Mails that point at an incident without proof and wait for an operator to match them. */
export const useMatchingStore = create<MatchingState>()((set, get) => ({
  ...initialState,
  async load() {
    const mine = ++generation;
    if (get().phase !== 'ready') set({ phase: 'loading' });
    const result = await invoke('mail:needingMatch', undefined);
    if (mine !== generation) return;
    if (result.ok) set({ phase: 'ready', mails: result.value, error: null });
    else set({ phase: 'error', error: result.error });
  },
  async match(mailId, target) {
    const result = await invoke('mail:match', { mailId, target });
    if (result.ok) set({ mails: get().mails.filter((mail) => mail.id !== mailId) });
    return result;
  },
}));

export function resetMatchingStore(): void {
  generation += 1;
  useMatchingStore.setState(initialState);
}
