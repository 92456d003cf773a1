import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../../format.js';
import { useRefusedCallsStore } from '../../phone/refused-calls.js';
import { useUiStore } from '../../stores/ui.js';

/** The call records the server refused, each with Send again and Discard (see refused-calls.ts). */
export function RefusedCallRecords() {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const refused = useRefusedCallsStore((s) => s.refused);
  const error = useRefusedCallsStore((s) => s.error);
  const load = useRefusedCallsStore((s) => s.load);
  const resend = useRefusedCallsStore((s) => s.resend);
  const discard = useRefusedCallsStore((s) => s.discard);
  useEffect(() => {
    void load();
  }, [load]);
  if (refused.length === 0) return null;
  return (
    <section className="phone-problem refused-calls" role="alert" aria-labelledby="refused-calls-title" data-testid="refused-calls">
      <h3 id="refused-calls-title">{t('phone.refusedCalls.title', { count: refused.length })}</h3>
      <ul>
        {refused.map((entry) => (
          <li key={entry.id} data-testid="refused-call">
            <span>
              {t('phone.refusedCalls.entry', {
                event: t(`phone.refusedCalls.event.${entry.input.event}`),
                remote: entry.input.remote || t('phone.refusedCalls.noNumber'),
                at: formatDateTime(entry.input.at, language),
              })}
              <span className="error-detail"> ({entry.message})</span>
            </span>
            <button type="button" className="quiet" onClick={() => void resend(entry.id)}>
              {t('phone.refusedCalls.resend')}
            </button>
            <button type="button" className="quiet" onClick={() => void discard(entry.id)}>
              {t('phone.refusedCalls.discard')}
            </button>
          </li>
        ))}
      </ul>
      {error && <p className="error-detail">{error.message}</p>}
    </section>
  );
}
