import { createContext, useContext } from 'react';
import { translate, type PortalLanguage, type StringKey } from './i18n.js';

export const LanguageContext = createContext<PortalLanguage>('ja');

/** `t(key, values)` in the page's current language. */
export function useT(): (key: StringKey, values?: Record<string, string | number>) => string {
  const language = useContext(LanguageContext);
  return (key, values) => translate(language, key, values);
}
