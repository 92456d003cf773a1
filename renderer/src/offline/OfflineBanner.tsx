import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { usePhoneStore } from '../stores/phone.js';
import { useOfflineStore, type SentOnReconnect } from './store.js';

/** How long the "back online" line stays before it clears itself. */
export const BACK_ONLINE_NOTICE_MS = 8000;

/**
 * Across the top while the backend cannot be reached: what still works from the cache, what
 * waits for the backend, and the phone's own state (it registers with the PBX, not the
 * backend, so it can be fine or not independently). After the outage, one line says what
 * was sent, then clears itself.
 */
export function OfflineBanner() {
  const { t } = useTranslation();
  const offline = useOfflineStore((s) => s.offline);
  const backOnline = useOfflineStore((s) => s.backOnline);
  const dismiss = useOfflineStore((s) => s.dismissBackOnline);
  const registration = usePhoneStore((s) => s.registration.state);
  const phoneAvailable = usePhoneStore((s) => s.phase !== 'unavailable');

  useEffect(() => {
    if (!backOnline) return;
    const timer = setTimeout(dismiss, BACK_ONLINE_NOTICE_MS);
    return () => clearTimeout(timer);
  }, [backOnline, dismiss]);

  if (offline) {
    return (
      <section className="offline-banner" role="alert" aria-labelledby="offline-banner-title" data-testid="offline-banner">
        <strong id="offline-banner-title">{t('offline.title')}</strong>
        <span className="offline-works">{t('offline.works')}</span>
        <span className="offline-waits">{t('offline.waits')}</span>
        <span className="offline-phone" data-testid="offline-banner-phone" data-registration={registration}>
          {t(`phone.registration.${phoneAvailable ? registration : 'unavailable'}`)}
        </span>
      </section>
    );
  }
  if (!backOnline) return null;
  return (
    <div className="back-online" role="status" data-testid="back-online">
      <span>{backOnlineText(t, backOnline)}</span>
      <button type="button" className="quiet" onClick={dismiss}>
        {t('offline.dismiss')}
      </button>
    </div>
  );
}

function backOnlineText(t: TFunction, sent: SentOnReconnect): string {
  const parts = [
    sent.notes > 0 ? t('offline.sentNotes', { count: sent.notes }) : null,
    sent.otherChanges > 0 ? t('offline.sentChanges', { count: sent.otherChanges }) : null,
    sent.statusChanges > 0 ? t('offline.sentStatus', { count: sent.statusChanges }) : null,
  ].filter((part): part is string => part !== null);
  if (parts.length === 0) return t('offline.backNothingSent');
  const list = parts.length === 1 ? parts[0]! : t('offline.listJoin', { first: parts.slice(0, -1).join(t('offline.listSeparator')), last: parts.at(-1) });
  return t('offline.backSent', { list });
}
