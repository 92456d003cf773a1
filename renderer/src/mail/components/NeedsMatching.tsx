import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { MailView } from '../../../../shared/api.js';
import type { AppError } from '../../../../shared/result.js';
import { ErrorText } from '../../components/ErrorText.js';
import { useMatchingStore } from '../stores/matching.js';
import { MailBody } from './MailBody.js';
import { MailHeaders } from './MailHeaders.js';

/**
 * Mails that point at an incident (a thread header or a subject token) without proof that
 * they belong there. They are filed with their sender meanwhile and offered to no one: an
 * operator reads them here and files each into the incident it points at (after a warning
 * naming that customer) or keeps it with its sender; then it joins the queue.
 */
export function NeedsMatching() {
  const { t } = useTranslation();
  const mails = useMatchingStore((s) => s.mails);
  const error = useMatchingStore((s) => s.error);

  useEffect(() => {
    void useMatchingStore.getState().load();
  }, []);

  if (mails.length === 0 && !error) return null;
  return (
    <section className="needs-matching" aria-labelledby="needs-matching-heading" data-testid="needs-matching">
      <h3 id="needs-matching-heading">{t('mail.matching.heading', { count: mails.length })}</h3>
      <p className="hint">{t('mail.matching.hint')}</p>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {mails.map((mail) => (
        <MatchItem key={mail.id} mail={mail} />
      ))}
    </section>
  );
}

function MatchItem({ mail }: { mail: MailView }) {
  const { t } = useTranslation();
  const [confirming, setConfirming] = useState(false);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const claimed = mail.claimedIncident;

  async function match(target: 'claimed' | 'sender') {
    const result = await useMatchingStore.getState().match(mail.id, target);
    if (!result.ok) setError(result.error);
  }

  return (
    <article className="needs-matching-item" data-testid="needs-matching-item" data-mail-id={mail.id} aria-label={mail.subject || t('mail.headers.noSubject')}>
      <MailHeaders mail={mail} headingLevel={3} />
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? t('mail.matching.hideBody') : t('mail.matching.showBody')}
      </button>
      {open && <MailBody key={mail.id} mail={mail} />}
      <div className="desk-actions">
        {claimed && !confirming && (
          <button type="button" onClick={() => setConfirming(true)} data-testid="match-claimed">
            {t('mail.matching.fileInto', { ref: claimed.incidentRef ?? claimed.incidentTitle, customer: claimed.customerName })}
          </button>
        )}
        {claimed && confirming && (
          <div className="warning" role="alertdialog" aria-label={t('mail.matching.confirmLabel')} data-testid="match-confirm">
            <p>{t('mail.matching.confirmText', { customer: claimed.customerName, from: mail.fromAddress })}</p>
            <button type="button" onClick={() => void match('claimed')} data-testid="match-claimed-confirm">
              {t('mail.matching.confirm')}
            </button>{' '}
            <button type="button" onClick={() => setConfirming(false)}>
              {t('mail.desk.cancel')}
            </button>
          </div>
        )}
        <button type="button" onClick={() => void match('sender')} data-testid="match-sender">
          {t('mail.matching.keep', { customer: mail.customerName })}
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
    </article>
  );
}
