import { create } from 'zustand';
import type { AppError } from '../../../shared/result.js';
import type { ReportGrouping, ReportPage, ReportPeriod } from '../../../shared/reports.js';
import { invoke } from '../api.js';
import { saveFile } from '../mail/save-file.js';

export const REPORT_PAGE_SIZE = 20;

/** The report form: local calendar dates (YYYY-MM-DD), read by the backend in the tenant's time zone. */
export interface ReportForm {
  period: ReportPeriod;
  groupBy: ReportGrouping;
  from: string;
  to: string;
}

/** Today's date on this computer, as the default of the form. */
export function todayText(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

interface ReportsState {
  form: ReportForm;
  page: ReportPage | null;
  /** Cursors of the pages shown so far: index 0 is the first page (no cursor). */
  cursors: Array<string | undefined>;
  loading: boolean;
  error: AppError | null;
  setForm(form: ReportForm): void;
  /** Loads the first page of groups of the current form. */
  load(): Promise<void>;
  nextPage(): Promise<void>;
  previousPage(): Promise<void>;
  exportCsv(): Promise<void>;
  /** One day, every operator on one page: the printable daily report. */
  loadDaily(date: string): Promise<boolean>;
}

const initialForm = (): ReportForm => ({ period: 'day', groupBy: 'operator', from: todayText(), to: todayText() });

export const useReportsStore = create<ReportsState>()((set, get) => {
  async function fetchPage(cursors: Array<string | undefined>, limit = REPORT_PAGE_SIZE): Promise<boolean> {
    const cursor = cursors[cursors.length - 1];
    set({ loading: true, error: null });
    const result = await invoke('reports:page', { ...get().form, limit, ...(cursor ? { cursor } : {}) });
    if (result.ok) set({ page: result.value, cursors, loading: false });
    else set({ error: result.error, loading: false });
    return result.ok;
  }
  return {
    form: initialForm(),
    page: null,
    cursors: [],
    loading: false,
    error: null,
    setForm(form) {
      set({ form });
    },
    load: async () => {
      await fetchPage([undefined]);
    },
    async nextPage() {
      const { page, cursors } = get();
      if (page?.nextCursor) await fetchPage([...cursors, page.nextCursor]);
    },
    async previousPage() {
      const { cursors } = get();
      if (cursors.length > 1) await fetchPage(cursors.slice(0, -1));
    },
    async exportCsv() {
      const { form } = get();
      const result = await invoke('reports:exportCsv', form);
      if (result.ok) saveFile(result.value.filename, 'text/csv;charset=utf-8', result.value.csv);
      else set({ error: result.error });
    },
    async loadDaily(date) {
      set({ form: { period: 'day', groupBy: 'operator', from: date, to: date } });
      return fetchPage([undefined], 100);
    },
  };
});

export function resetReportsStore(): void {
  useReportsStore.setState({ form: initialForm(), page: null, cursors: [], loading: false, error: null });
}
