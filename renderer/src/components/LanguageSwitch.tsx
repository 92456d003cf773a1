import { useTranslation } from 'react-i18next';
import { LANGUAGES } from '../i18n/index.js';
import { useUiStore } from '../stores/ui.js';

/** Each language is named in itself, so a user who cannot read the current one still finds theirs. */
export function LanguageSwitch() {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const setLanguage = useUiStore((s) => s.setLanguage);
  return (
    <div className="language-switch" role="group" aria-label={t('language.label')}>
      {LANGUAGES.map((option) => (
        <button
          key={option}
          type="button"
          lang={option}
          aria-pressed={language === option}
          onClick={() => setLanguage(option)}
        >
          {t(`language.${option}`, { lng: option })}
        </button>
      ))}
    </div>
  );
}
