import { create } from 'zustand';
import type { ExchangeExportSummary, ExchangeFilter, ExchangeFormat, ExchangePolicyInput, ExchangePreview } from '../../../shared/exchange.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { saveFile } from '../save-file.js';

interface ExchangeState {
  exports: ExchangeExportSummary[];
  partners: string[];
  phase: 'idle' | 'loading' | 'ready' | 'error';
  preview: ExchangePreview | null;
  /** What is being done right now (one action at a time), for busy buttons and the live status. */
  busy: 'preview' | 'create' | 'share' | 'download' | null;
  error: AppError | null;
  /** The last thing done, announced in the live region: created, shared or downloaded. */
  done: { kind: 'created' | 'shared' | 'downloaded'; title: string } | null;
  load(options?: { partners?: boolean }): Promise<void>;
  previewExport(filter: ExchangeFilter, policy: ExchangePolicyInput): Promise<void>;
  createExport(title: string, filter: ExchangeFilter, policy: ExchangePolicyInput): Promise<boolean>;
  share(exportId: string, partnerOrg: string): Promise<void>;
  download(exportId: string, format: ExchangeFormat): Promise<void>;
}

const initialState = { exports: [], partners: [], phase: 'idle', preview: null, busy: null, error: null, done: null } satisfies Partial<ExchangeState>;

/** The exchange screens' state (core channels exchange:*): exports, partner organisations, the preview. */
export const useExchangeStore = create<ExchangeState>()((set, get) => ({
  ...initialState,
  async load(options = {}) {
    if (get().phase !== 'ready') set({ phase: 'loading' });
    const result = await invoke('exchange:list', undefined);
    if (!result.ok) {
      set({ phase: 'error', error: result.error });
      return;
    }
    set({ exports: result.value, phase: 'ready', error: null });
    if (options.partners) {
      const partners = await invoke('exchange:partners', undefined);
      if (partners.ok) set({ partners: partners.value });
      else set({ error: partners.error });
    }
  },
  async previewExport(filter, policy) {
    set({ busy: 'preview', error: null, done: null });
    const result = await invoke('exchange:preview', { filter, policy, limit: 10 });
    set(result.ok ? { busy: null, preview: result.value } : { busy: null, preview: null, error: result.error });
  },
  async createExport(title, filter, policy) {
    set({ busy: 'create', error: null, done: null });
    const result = await invoke('exchange:create', { title, filter, policy });
    if (!result.ok) {
      set({ busy: null, error: result.error });
      return false;
    }
    set({ busy: null, exports: [result.value, ...get().exports.filter((entry) => entry.id !== result.value.id)], done: { kind: 'created', title: result.value.title } });
    return true;
  },
  async share(exportId, partnerOrg) {
    set({ busy: 'share', error: null, done: null });
    const result = await invoke('exchange:share', { exportId, partnerOrg });
    if (!result.ok) {
      set({ busy: null, error: result.error });
      return;
    }
    set({ busy: null, exports: get().exports.map((entry) => (entry.id === exportId ? result.value : entry)), done: { kind: 'shared', title: result.value.title } });
  },
  async download(exportId, format) {
    set({ busy: 'download', error: null, done: null });
    const result = await invoke('exchange:download', { exportId, format });
    if (!result.ok) {
      set({ busy: null, error: result.error });
      return;
    }
    saveFile(result.value.fileName, new Blob([result.value.content], { type: result.value.mediaType }));
    const title = get().exports.find((entry) => entry.id === exportId)?.title ?? result.value.fileName;
    set({ busy: null, done: { kind: 'downloaded', title } });
  },
}));

export function resetExchangeStore(): void {
  useExchangeStore.setState(initialState);
}
