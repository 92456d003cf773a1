import { create } from 'zustand';
import type { AuditEntry } from '../../../shared/api.js';
import type { AuditAction } from '../../../shared/domain.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { saveFile } from '../mail/save-file.js';

export const AUDIT_PAGE_SIZE = 50;

/** The viewer's filters as typed in the form; empty means "any". Times are local `datetime-local` values. */
export interface AuditFilterForm {
  userId: string;
  customerId: string;
  action: AuditAction | '';
  from: string;
  to: string;
}

export const EMPTY_AUDIT_FILTER: AuditFilterForm = { userId: '', customerId: '', action: '', from: '', to: '' };

/** The form as the audit query: blanks dropped, local times as ISO instants. */
export function auditFilterQuery(form: AuditFilterForm) {
  const iso = (local: string) => (local === '' ? undefined : new Date(local).toISOString());
  return {
    ...(form.userId.trim() ? { userId: form.userId.trim() } : {}),
    ...(form.customerId.trim() ? { customerId: form.customerId.trim() } : {}),
    ...(form.action ? { action: form.action } : {}),
    ...(iso(form.from) ? { from: iso(form.from) } : {}),
    ...(iso(form.to) ? { to: iso(form.to) } : {}),
  };
}

interface AuditState {
  filter: AuditFilterForm;
  entries: AuditEntry[];
  /** Cursors of the pages shown so far: index 0 is the first page (no cursor). */
  cursors: Array<string | undefined>;
  nextCursor: string | null;
  loading: boolean;
  error: AppError | null;
  setFilter(filter: AuditFilterForm): void;
  /** Loads the first page of the current filter. */
  search(): Promise<void>;
  nextPage(): Promise<void>;
  previousPage(): Promise<void>;
  exportCsv(): Promise<void>;
}

const initial = { filter: EMPTY_AUDIT_FILTER, entries: [], cursors: [], nextCursor: null, loading: false, error: null };

export const useAuditStore = create<AuditState>()((set, get) => {
  async function load(cursors: Array<string | undefined>) {
    const cursor = cursors[cursors.length - 1];
    set({ loading: true, error: null });
    const result = await invoke('audit:list', { ...auditFilterQuery(get().filter), limit: AUDIT_PAGE_SIZE, ...(cursor ? { cursor } : {}) });
    if (result.ok) set({ entries: result.value.entries, nextCursor: result.value.nextCursor, cursors, loading: false });
    else set({ error: result.error, loading: false });
  }
  return {
    ...initial,
    setFilter(filter) {
      set({ filter });
    },
    search: () => load([undefined]),
    async nextPage() {
      const { nextCursor, cursors } = get();
      if (nextCursor !== null) await load([...cursors, nextCursor]);
    },
    async previousPage() {
      const { cursors } = get();
      if (cursors.length > 1) await load(cursors.slice(0, -1));
    },
    async exportCsv() {
      const result = await invoke('audit:exportCsv', auditFilterQuery(get().filter));
      if (result.ok) saveFile(result.value.filename, 'text/csv;charset=utf-8', result.value.csv);
      else set({ error: result.error });
    },
  };
});

export function resetAuditStore(): void {
  useAuditStore.setState(initial);
}
