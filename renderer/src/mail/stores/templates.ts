import { create } from 'zustand';
import type { MailTemplate } from '../../../../shared/api.js';
import type { AppError } from '../../../../shared/result.js';
import { invoke } from '../../api.js';

interface TemplateState {
  templates: MailTemplate[];
  loaded: boolean;
  error: AppError | null;
  load(): Promise<void>;
}

const initialState = { templates: [], loaded: false, error: null } satisfies Partial<TemplateState>;

export const useTemplateStore = create<TemplateState>()((set) => ({
  ...initialState,
  /** Fetches the tenant's templates afresh; until they are in, none is offered (a stale one could be chosen). */
  async load() {
    set({ templates: [], loaded: false });
    const result = await invoke('mail:templates', undefined);
    if (result.ok) set({ templates: result.value, loaded: true, error: null });
    else set({ error: result.error });
  },
}));

export function resetTemplateStore(): void {
  useTemplateStore.setState(initialState);
}
