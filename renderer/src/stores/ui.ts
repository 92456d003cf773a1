import { create } from 'zustand';
import { detectLanguage, i18n, rememberLanguage, type Language } from '../i18n/index.js';

interface UiState {
  language: Language;
  setLanguage(language: Language): void;
}

function applyLanguage(language: Language): void {
  void i18n.changeLanguage(language);
  if (typeof document !== 'undefined') document.documentElement.lang = language;
}

export const useUiStore = create<UiState>()((set) => ({
  language: i18n.language === 'ja' ? 'ja' : 'en',
  setLanguage(language) {
    rememberLanguage(language);
    applyLanguage(language);
    set({ language });
  },
}));

/** Back to what a fresh window would pick (tests clear localStorage first). */
export function resetUiStore(): void {
  const language = detectLanguage();
  applyLanguage(language);
  useUiStore.setState({ language });
}

/** Makes the document's language match the store at start-up, for screen readers and CJK font choice. */
export function applyInitialLanguage(): void {
  applyLanguage(useUiStore.getState().language);
}
