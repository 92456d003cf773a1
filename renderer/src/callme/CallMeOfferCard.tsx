import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorText } from '../components/ErrorText.js';
import { useDisplayNumber } from '../history/CallHistory.js';
import { followCallMeOffers, useCallMeStore } from './store.js';

/**
 * A customer pressed "call me" in the portal and the backend offers the callback to this
 * operator: who, which number, why; accept (the app dials at once) or decline (the next
 * operator gets it). Shown over every work area while the offer stands.
 */
export function CallMeOfferCard() {
  const { t } = useTranslation();
  const offer = useCallMeStore((s) => s.offer);
  const busy = useCallMeStore((s) => s.busy);
  const error = useCallMeStore((s) => s.error);
  const displayNumber = useDisplayNumber();
  useEffect(() => followCallMeOffers(), []);

  if (!offer) {
    return error ? (
      <p role="alert" className="callme-failed">
        {t('callme.failed')} <ErrorText error={error} />
      </p>
    ) : null;
  }
  return (
    <section className="callme-offer" role="alertdialog" aria-labelledby="callme-offer-title" aria-describedby="callme-offer-details" data-testid="callme-offer">
      <h2 id="callme-offer-title">{t('callme.title')}</h2>
      <dl id="callme-offer-details">
        <dt>{t('callme.customer')}</dt>
        <dd>
          {offer.customerName} <span className="muted">({offer.customerCode})</span>
        </dd>
        <dt>{t('callme.number')}</dt>
        <dd>{displayNumber(offer.number)}</dd>
        <dt>{t('callme.reason')}</dt>
        <dd>{offer.reason === '' ? t('callme.noReason') : offer.reason}</dd>
        {offer.offerReason === 'last_handler' && <dd className="muted">{t('callme.youHandledBefore')}</dd>}
      </dl>
      <div className="callme-actions">
        <button type="button" className="primary" disabled={busy} onClick={() => void useCallMeStore.getState().accept()}>
          {t('callme.accept')}
        </button>
        <button type="button" disabled={busy} onClick={() => void useCallMeStore.getState().decline()}>
          {t('callme.decline')}
        </button>
      </div>
    </section>
  );
}
