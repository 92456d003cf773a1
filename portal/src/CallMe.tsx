import { useCallback, useContext, useEffect, useState, type FormEvent } from 'react';
import { CALLME_PORTAL_API, CallMeStatus, CallMeView, callmePath } from '../../shared/callme.js';
import { call } from './api.js';
import type { PortalLanguage } from './i18n.js';
import { LanguageContext } from './language.js';

/**
 * "Call me": the customer picks one of their numbers or types one, optionally a time and what
 * it is about, and presses the button; then follows the request — an operator will call
 * shortly (or the time it is booked for, outside business hours), calling now, done — and may
 * cancel it until the operator dials. The request's state is asked for every few seconds
 * while it is open.
 */

const ja = {
  title: 'お電話をご希望の方',
  intro: 'ボタンを押すと、オペレーターからお電話します。',
  number: 'お電話する番号',
  otherNumber: 'ほかの番号',
  otherNumberLabel: 'お電話番号(例: 090-1234-5678)',
  preferredAt: 'ご希望の日時(任意)',
  reason: 'ご用件(任意)',
  callMe: '電話をかけてもらう',
  shortly: 'まもなくオペレーターからお電話します。',
  booked: '受付時間外のため、{time} ごろにお電話します。',
  calling: 'ただいまお電話しています。',
  done: 'お電話ありがとうございました。',
  noAnswer: 'お電話がつながりませんでした。もう一度お申し込みください。',
  cancelled: 'お申し込みを取り消しました。',
  cancel: '取り消す',
  again: 'もう一度申し込む',
  error: 'エラー: {message}',
  loading: '読み込み中…',
};
type Strings = typeof ja;
const en: Strings = {
  title: 'Would you like us to call you?',
  intro: 'Press the button and an operator will call you.',
  number: 'Number to call',
  otherNumber: 'Another number',
  otherNumberLabel: 'Phone number (e.g. 090-1234-5678)',
  preferredAt: 'Preferred date and time (optional)',
  reason: 'What is it about? (optional)',
  callMe: 'Call me',
  shortly: 'An operator will call you shortly.',
  booked: 'We are closed now: we will call you around {time}.',
  calling: 'Calling you now.',
  done: 'Thank you for talking with us.',
  noAnswer: 'We could not reach you. Please ask again.',
  cancelled: 'Your request was cancelled.',
  cancel: 'Cancel',
  again: 'Ask again',
  error: 'Error: {message}',
  loading: 'Loading…',
};
const STRINGS: Record<PortalLanguage, Strings> = { ja, en };
const POLL_MS = 3000;
const OPEN = new Set<CallMeView['state']>(['waiting', 'offered', 'dialling']);

function useStrings() {
  const language = useContext(LanguageContext);
  return {
    language,
    t: (key: keyof Strings, values: Record<string, string> = {}) => STRINGS[language][key].replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? ''),
  };
}

function stateText(request: CallMeView, t: ReturnType<typeof useStrings>['t'], language: PortalLanguage): string {
  switch (request.state) {
    case 'waiting':
      return request.booked
        ? t('booked', { time: new Date(request.dueAt).toLocaleString(language === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' }) })
        : t('shortly');
    case 'offered':
      return t('shortly');
    case 'dialling':
      return t('calling');
    case 'done':
      return request.outcome === 'no_answer' ? t('noAnswer') : t('done');
    case 'cancelled':
      return t('cancelled');
  }
}

export function CallMe() {
  const { t, language } = useStrings();
  const [status, setStatus] = useState<CallMeStatus | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const load = useCallback(() => call('GET', CALLME_PORTAL_API.callme, CallMeStatus).then(setStatus, (error: unknown) => setFailure(String(error instanceof Error ? error.message : error))), []);
  useEffect(() => {
    void load();
  }, [load]);
  const open = status?.request ? OPEN.has(status.request.state) : false;
  useEffect(() => {
    if (!open) return;
    const timer = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(timer);
  }, [open, load]);

  if (!status) return failure ? <p role="alert">{t('error', { message: failure })}</p> : <p>{t('loading')}</p>;
  const request = status.request;
  const cancel = async () => {
    if (!request) return;
    try {
      await call('POST', callmePath(CALLME_PORTAL_API.cancel, request.id), CallMeView);
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    }
    await load();
  };
  return (
    <section aria-labelledby="callme-title" className="callme">
      <h2 id="callme-title">{t('title')}</h2>
      {request && !asking ? (
        <>
          <p role="status" aria-live="polite" data-testid="callme-state" data-state={request.state}>
            {stateText(request, t, language)}
          </p>
          {(request.state === 'waiting' || request.state === 'offered') && (
            <button type="button" onClick={() => void cancel()}>
              {t('cancel')}
            </button>
          )}
          {!open && (
            <button type="button" onClick={() => setAsking(true)}>
              {t('again')}
            </button>
          )}
        </>
      ) : (
        <CallMeForm
          numbers={status.numbers}
          onAsked={async () => {
            setAsking(false);
            await load();
          }}
          onFailure={setFailure}
        />
      )}
      {failure && <p role="alert">{t('error', { message: failure })}</p>}
    </section>
  );
}

function CallMeForm({ numbers, onAsked, onFailure }: { numbers: string[]; onAsked: () => Promise<void>; onFailure: (message: string | null) => void }) {
  const { t } = useStrings();
  // One id per form: pressing twice, or a retry, is the same request.
  const [clientId] = useState(() => crypto.randomUUID());
  const [choice, setChoice] = useState<string>(numbers[0] ?? 'other');
  const [other, setOther] = useState('');
  const [preferredAt, setPreferredAt] = useState('');
  const [reason, setReason] = useState('');
  const [sending, setSending] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSending(true);
    onFailure(null);
    try {
      await call('POST', CALLME_PORTAL_API.callme, CallMeView, {
        clientId,
        number: choice === 'other' ? other : choice,
        preferredAt: preferredAt === '' ? null : new Date(preferredAt).toISOString(),
        reason,
      });
      await onAsked();
    } catch (error) {
      onFailure(error instanceof Error ? error.message : String(error));
    } finally {
      setSending(false);
    }
  };
  return (
    <form onSubmit={(event) => void submit(event)} className="callme-form">
      <p>{t('intro')}</p>
      <fieldset>
        <legend>{t('number')}</legend>
        {numbers.map((number) => (
          <label key={number}>
            <input type="radio" name="callme-number" value={number} checked={choice === number} onChange={() => setChoice(number)} /> {number}
          </label>
        ))}
        <label>
          <input type="radio" name="callme-number" value="other" checked={choice === 'other'} onChange={() => setChoice('other')} /> {t('otherNumber')}
        </label>
        {choice === 'other' && (
          <label>
            {t('otherNumberLabel')}
            <input type="tel" autoComplete="tel" required value={other} maxLength={40} onChange={(event) => setOther(event.target.value)} />
          </label>
        )}
      </fieldset>
      <label>
        {t('preferredAt')}
        <input type="datetime-local" value={preferredAt} onChange={(event) => setPreferredAt(event.target.value)} />
      </label>
      <label>
        {t('reason')}
        <textarea value={reason} maxLength={500} onChange={(event) => setReason(event.target.value)} />
      </label>
      <button type="submit" disabled={sending}>
        {t('callMe')}
      </button>
    </form>
  );
}
