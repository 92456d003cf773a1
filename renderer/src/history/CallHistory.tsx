import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import type { CallHistoryView } from '../../../shared/ipc.js';
import { ErrorText } from '../components/ErrorText.js';
import { formatDateTime, formatPhone } from '../format.js';
import { useWorkAreaStore } from '../mail/stores/work-area.js';
import { useCustomerStore } from '../stores/customer.js';
import { usePhoneStore } from '../stores/phone.js';
import { useSessionStore } from '../stores/session.js';
import { useUiStore } from '../stores/ui.js';
import { CallbackWorklist } from '../callbacks/CallbackWorklist.js';
import { useCallHistoryStore } from './store.js';

type HistoryCall = CallHistoryView['calls'][number];
type HistoryCallback = CallHistoryView['callbacks'][number];

/** A number as the operator reads it; what the PBX sent when it is not a number. */
export function useDisplayNumber(): (remote: string) => string {
  const region = useSessionStore((s) => s.session?.tenant.defaultRegion);
  const { t } = useTranslation();
  return (remote) => (remote === '' ? t('phone.anonymous') : /^\+\d{8,15}$/.test(remote) ? formatPhone(remote, region) : remote);
}

export function openCustomer(customerId: string): void {
  void useCustomerStore.getState().select(customerId);
  useWorkAreaStore.getState().show('customers');
}

/** Click-to-call: while the phone is up, every entry with a number can be dialled. */
export function CallBackButton({ remote, customerId, label }: { remote: string; customerId: string | null; label: string }) {
  const { t } = useTranslation();
  const phoneOn = usePhoneStore((s) => s.phase === 'on');
  const dial = usePhoneStore((s) => s.dial);
  if (remote === '' || !phoneOn) return null;
  return (
    <button type="button" className="quiet" aria-label={t('history.callLabel', { who: label })} onClick={() => void dial(remote, customerId)}>
      {t('history.call')}
    </button>
  );
}

/**
 * The operator's call history: the callback worklist first (the wrap-up's "callback needed",
 * until a later call with the customer is logged or it is marked done), then every call, missed
 * ones marked. Opening it clears the missed-call badge.
 */
export function CallHistory() {
  const { t } = useTranslation();
  const view = useCallHistoryStore((s) => s.view);
  const phase = useCallHistoryStore((s) => s.phase);
  const error = useCallHistoryStore((s) => s.error);

  useEffect(() => {
    void useCallHistoryStore.getState().open();
    return () => useCallHistoryStore.getState().close();
  }, []);

  const done = view?.callbacks.filter((callback) => callback.doneAt !== null) ?? [];
  return (
    <section className="call-history" data-testid="call-history" data-phase={phase} aria-labelledby="history-heading">
      <h2 id="history-heading">{t('history.heading')}</h2>
      {view?.source === 'cache' && <p className="source-note">{t('history.fromCache')}</p>}
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      <CallbackWorklist />
      <section aria-labelledby="calls-heading">
        <h3 id="calls-heading">{t('history.calls')}</h3>
        {view && view.calls.length === 0 && <p className="muted">{t('history.noCalls')}</p>}
        {view && view.calls.length > 0 && (
          <ul className="history-list">
            {view.calls.map((call) => (
              <CallRow key={call.callId} call={call} callback={view.callbacks.find((c) => c.callId === call.callId) ?? null} />
            ))}
          </ul>
        )}
      </section>
      {done.length > 0 && (
        <section aria-labelledby="done-heading">
          <h3 id="done-heading">{t('history.doneCallbacks')}</h3>
          <ul className="history-list">
            {done.map((callback) => (
              <CallbackRow key={callback.id} callback={callback} />
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}

function CallRow({ call, callback }: { call: HistoryCall; callback: HistoryCallback | null }) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const displayNumber = useDisplayNumber();
  const who = call.customerName ?? displayNumber(call.remote);
  return (
    <li className={`history-entry is-${call.outcome}`} data-testid="history-call" data-call-id={call.callId} data-outcome={call.outcome}>
      <span className={`outcome-tag is-${call.outcome}`}>{t(`history.outcome.${call.outcome}`)}</span>
      <span className="history-direction">{t(`contact.direction.${call.direction}`)}</span>
      <span className="history-who">
        {call.customerId ? (
          <button type="button" className="link-like" onClick={() => openCustomer(call.customerId!)}>
            {call.customerName}
          </button>
        ) : (
          who
        )}
      </span>
      {call.customerName && <span className="muted">{displayNumber(call.remote)}</span>}
      <time dateTime={call.startedAt}>{formatDateTime(call.startedAt, language)}</time>
      {call.local && <span className="pending-badge">{t('history.local')}</span>}
      {callback && callback.doneAt === null && (
        <span className="callback-tag" data-testid="callback-needed">
          {t('history.callbackNeeded')}
        </span>
      )}
      <CallBackButton remote={call.remote} customerId={call.customerId} label={who} />
    </li>
  );
}

function CallbackRow({ callback }: { callback: HistoryCallback }) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const displayNumber = useDisplayNumber();
  const complete = useCallHistoryStore((s) => s.completeCallback);
  const done = callback.doneAt !== null;
  return (
    <li className="history-entry callback-entry" data-testid="callback" data-callback-id={callback.id} data-done={done}>
      <span className="history-who">
        <button type="button" className="link-like" onClick={() => openCustomer(callback.customerId)}>
          {callback.customerName}
        </button>
      </span>
      <span className="muted">{displayNumber(callback.remote)}</span>
      <span>
        {t('history.flaggedAt')} <time dateTime={callback.flaggedAt}>{formatDateTime(callback.flaggedAt, language)}</time>
      </span>
      {callback.pending && <span className="pending-badge">{t('contact.pending')}</span>}
      {done ? (
        <span className="status-tag is-closed">{t(`history.done.${callback.doneReason ?? 'marked'}`)}</span>
      ) : (
        <>
          <CallBackButton remote={callback.remote} customerId={callback.customerId} label={callback.customerName} />
          <button type="button" className="quiet" onClick={() => void complete(callback.id)}>
            {t('history.markDone')}
          </button>
        </>
      )}
    </li>
  );
}

/** The latest missed call, above the work area, until dismissed or the history is opened. */
export function MissedCallNotice() {
  const { t } = useTranslation();
  const notice = useCallHistoryStore((s) => s.notice);
  const displayNumber = useDisplayNumber();
  if (!notice) return null;
  const who = notice.customerName ?? displayNumber(notice.remote);
  return (
    <div className="missed-notice" role="status" data-testid="missed-notice">
      <span>{t('history.missedNotice', { who })}</span>
      <button type="button" className="quiet" onClick={() => useWorkAreaStore.getState().show('history')}>
        {t('history.show')}
      </button>
      <button type="button" className="quiet" onClick={() => useCallHistoryStore.getState().dismissNotice()}>
        {t('history.dismiss')}
      </button>
    </div>
  );
}
