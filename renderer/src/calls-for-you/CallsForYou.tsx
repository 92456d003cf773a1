import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { CALLS_FOR_YOU_SCOPES, type CallbackText, type CallHandlingAction, type CallHandlingKind } from '../../../shared/calls-for-you.js';
import type { CallsForYouView } from '../../../shared/ipc.js';
import { mayEditCallbackTemplate, mayHandleCallsForYou, mayListCallsForYou } from '../../../shared/permissions.js';
import { assertNever, type AppError } from '../../../shared/result.js';
import { ErrorText } from '../components/ErrorText.js';
import { CreateCustomerForm } from '../components/phone/CreateCustomerForm.js';
import { formatPhone } from '../format.js';
import { useScreenPopStore } from '../stores/screen-pop.js';
import { useSessionStore } from '../stores/session.js';
import { CallMailComposer } from './CallMailComposer.js';
import { RepRequestDetailsView } from './RepRequestDetails.js';
import { reminderTime, setReminderTime } from './reminder.js';
import { useCallsForYouStore } from './store.js';
import { TemplateEditor } from './TemplateEditor.js';

type Entry = CallsForYouView['entries'][number];

function useDateTime() {
  const { i18n } = useTranslation();
  const format = new Intl.DateTimeFormat(i18n.language === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' });
  return (iso: string) => format.format(new Date(iso));
}

/** The branch rep's "calls for you": filters, counts, and per call what was done or a way to do it. */
export function CallsForYou() {
  const { t } = useTranslation();
  const user = useSessionStore((s) => s.session?.user);
  const scope = useCallsForYouStore((s) => s.scope);
  const view = useCallsForYouStore((s) => s.view);
  const phase = useCallsForYouStore((s) => s.phase);
  const error = useCallsForYouStore((s) => s.error);

  useEffect(() => {
    void useCallsForYouStore.getState().openList();
    void useCallsForYouStore.getState().loadSeminars();
    return () => useCallsForYouStore.getState().closeList();
  }, []);

  if (!user) return null;
  const scopes = CALLS_FOR_YOU_SCOPES.filter((candidate) => mayListCallsForYou(user, candidate));
  return (
    <section className="calls-for-you" data-testid="calls-for-you" data-phase={phase} aria-labelledby="cfy-heading">
      <h2 id="cfy-heading">{t('callsForYou.heading')}</h2>
      <div className="cfy-toolbar">
        <div role="group" aria-label={t('callsForYou.scope.label')}>
          {scopes.map((candidate) => (
            <button
              key={candidate}
              type="button"
              aria-pressed={scope === candidate}
              data-testid={`cfy-scope-${candidate}`}
              onClick={() => void useCallsForYouStore.getState().setScope(candidate)}
            >
              {t(`callsForYou.scope.${candidate}`)}
            </button>
          ))}
        </div>
        {view && (
          <p className="cfy-counts" data-testid="cfy-counts" data-handled={view.counts.handled} data-unhandled={view.counts.unhandled}>
            {t('callsForYou.counts', { unhandled: view.counts.unhandled, handled: view.counts.handled })}
          </p>
        )}
        <ReminderTime />
      </div>
      {mayEditCallbackTemplate(user) && <TemplateEditor />}
      {view?.source === 'cache' && <p className="notice">{t('callsForYou.fromCache')}</p>}
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {view && view.entries.length === 0 && <p>{t('callsForYou.empty')}</p>}
      {view && view.entries.length > 0 && (
        <ul className="cfy-list">
          {view.entries.map((entry) => (
            <CallEntry key={entry.key} entry={entry} mayHandle={mayHandleCallsForYou(user)} />
          ))}
        </ul>
      )}
    </section>
  );
}

function ReminderTime() {
  const { t } = useTranslation();
  const id = useId();
  const [time, setTime] = useState(reminderTime);
  return (
    <span className="cfy-reminder">
      <label htmlFor={id}>{t('callsForYou.reminder.label')}</label>
      <input
        id={id}
        type="time"
        data-testid="cfy-reminder-time"
        value={time}
        onChange={(event) => {
          setTime(event.target.value);
          setReminderTime(event.target.value);
        }}
      />
    </span>
  );
}

function CallEntry({ entry, mayHandle }: { entry: Entry; mayHandle: boolean }) {
  const { t } = useTranslation();
  const dateTime = useDateTime();
  const region = useSessionStore((s) => s.session?.tenant.defaultRegion);
  const [open, setOpen] = useState<'handle' | 'text' | 'create' | null>(null);
  const [customerId, setCustomerId] = useState<string | null>(entry.customer?.id ?? null);
  const who = entry.customer ? `${entry.customer.name}（${entry.customer.code}）` : formatPhone(entry.remote, region);
  const received = entry.receivedBy.map((person) => (person.branch ? `${person.name}（${person.branch}）` : person.name)).join('、');

  return (
    <li className="cfy-entry" data-testid="cfy-entry" data-key={entry.key} data-handled={entry.handled !== null} data-pending={entry.pending}>
      <div className="cfy-summary">
        <strong className="cfy-who">{who}</strong>
        <span>{dateTime(entry.startedAt)}</span>
        <span className={`cfy-outcome cfy-${entry.outcome}`}>{t(`callsForYou.outcome.${entry.outcome}`)}</span>
        {entry.answeredBy && <span>{t('callsForYou.answeredBy', { name: entry.answeredBy.name })}</span>}
        {received && <span>{t('callsForYou.receivedBy', { who: received })}</span>}
        {entry.customer?.assignedRep && <span>{t('callsForYou.assignedRep', { name: entry.customer.assignedRep.name })}</span>}
      </div>
      {entry.request && <RepRequestDetailsView request={entry.request} customerId={entry.customer?.id ?? null} label={who} />}
      <div className="cfy-state">
        {entry.handled ? (
          <span data-testid="cfy-handled">
            {t(`callsForYou.handled.${entry.handled.kind}`, { name: entry.handled.by.name, at: dateTime(entry.handled.at) })}
            {entry.pending && <span className="pending-badge"> {t('callsForYou.pending')}</span>}
          </span>
        ) : (
          <span className="cfy-unhandled">{t('callsForYou.unhandled')}</span>
        )}
        <button type="button" className="quiet" aria-expanded={open === 'text'} onClick={() => setOpen(open === 'text' ? null : 'text')}>
          {t('callsForYou.callbackText')}
        </button>
        {mayHandle && entry.handled === null && customerId !== null && (
          <button type="button" aria-expanded={open === 'handle'} onClick={() => setOpen(open === 'handle' ? null : 'handle')}>
            {t('callsForYou.record')}
          </button>
        )}
        {mayHandle && entry.handled === null && customerId === null && (
          <button type="button" aria-expanded={open === 'create'} onClick={() => setOpen(open === 'create' ? null : 'create')}>
            {t('callsForYou.createCustomer')}
          </button>
        )}
      </div>
      {open === 'text' && <CallbackPreview callKey={entry.key} mayWrite={mayHandle && entry.customer !== null} />}
      {open === 'create' && (
        <CreateCustomerForm
          callId={entry.key}
          e164={entry.remote.startsWith('+') ? entry.remote : null}
          onCreated={(detail) => {
            useScreenPopStore.getState().remove(entry.key);
            setCustomerId(detail.customer.id);
            setOpen('handle');
          }}
        />
      )}
      {open === 'handle' && customerId !== null && <HandleForm callKey={entry.key} customerId={customerId} onDone={() => setOpen(null)} />}
    </li>
  );
}

function CallbackPreview({ callKey, mayWrite }: { callKey: string; mayWrite: boolean }) {
  const { t } = useTranslation();
  const [text, setText] = useState<CallbackText | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [copied, setCopied] = useState(false);
  // One id per composer: a retried or offline save never makes a second draft.
  const [mailId] = useState(() => crypto.randomUUID());
  const [writing, setWriting] = useState(false);
  useEffect(() => {
    void useCallsForYouStore
      .getState()
      .callbackText(callKey)
      .then((result) => (result.ok ? setText(result.value) : setError(result.error)));
  }, [callKey]);
  if (error) {
    return (
      <p className="error" role="alert">
        <ErrorText error={error} />
      </p>
    );
  }
  if (!text) return <p role="status">{t('callsForYou.loading')}</p>;
  const whole = text.subject ? `${text.subject}\n\n${text.body}` : text.body;
  return (
    <div className="cfy-preview" data-testid="cfy-callback-text">
      {text.subject && <p className="cfy-subject">{text.subject}</p>}
      <pre>{text.body}</pre>
      <button
        type="button"
        onClick={() =>
          void navigator.clipboard.writeText(whole).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {t('callsForYou.copy')}
      </button>
      {copied && <span role="status">{t('callsForYou.copied')}</span>}
      {mayWrite && text.toAddress !== null && !writing && (
        <button type="button" onClick={() => setWriting(true)}>
          {t('callsForYou.writeMail')}
        </button>
      )}
      {writing && text.toAddress !== null && (
        <CallMailComposer
          replyId={mailId}
          callKey={callKey}
          initialSubject={text.subject}
          initialBody={text.body}
          toAddress={text.toAddress}
          onSubmitted={() => undefined}
        />
      )}
    </div>
  );
}

function HandleForm({ callKey, customerId, onDone }: { callKey: string; customerId: string; onDone: () => void }) {
  const { t } = useTranslation();
  const id = useId();
  const seminars = useCallsForYouStore((s) => s.seminars);
  const [kind, setKind] = useState<CallHandlingKind>('contact');
  const [summary, setSummary] = useState('');
  const [body, setBody] = useState('');
  const [date, setDate] = useState('');
  const [time, setTime] = useState('');
  const [place, setPlace] = useState('');
  const [seminarId, setSeminarId] = useState('');
  const [seats, setSeats] = useState(1);
  const [error, setError] = useState<AppError | null>(null);
  const [saving, setSaving] = useState(false);

  function action(): CallHandlingAction {
    switch (kind) {
      case 'contact':
        return { kind, summary: summary.trim(), body };
      case 'visit':
        return { kind, date, time, place: place.trim(), note: body };
      case 'seminar':
        return { kind, seminarId, seats };
      default:
        return assertNever(kind, 'handling kind');
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    const result = await useCallsForYouStore.getState().handle({ callKey, customerId, action: action() });
    setSaving(false);
    if (result.ok) onDone();
    else setError(result.error);
  }

  return (
    <form className="cfy-handle" data-testid="cfy-handle-form" onSubmit={(e) => void submit(e)}>
      <fieldset>
        <legend>{t('callsForYou.kind.label')}</legend>
        {(['contact', 'visit', 'seminar'] as const).map((candidate) => (
          <label key={candidate}>
            <input type="radio" name={`${id}-kind`} value={candidate} checked={kind === candidate} onChange={() => setKind(candidate)} />
            {t(`callsForYou.kind.${candidate}`)}
          </label>
        ))}
      </fieldset>
      {kind === 'contact' && (
        <>
          <label htmlFor={`${id}-summary`}>{t('callsForYou.field.summary')}</label>
          <input id={`${id}-summary`} required maxLength={500} value={summary} onChange={(e) => setSummary(e.target.value)} />
        </>
      )}
      {kind === 'visit' && (
        <>
          <label htmlFor={`${id}-date`}>{t('callsForYou.field.date')}</label>
          <input id={`${id}-date`} type="date" required value={date} onChange={(e) => setDate(e.target.value)} />
          <label htmlFor={`${id}-time`}>{t('callsForYou.field.time')}</label>
          <input id={`${id}-time`} type="time" required value={time} onChange={(e) => setTime(e.target.value)} />
          <label htmlFor={`${id}-place`}>{t('callsForYou.field.place')}</label>
          <input id={`${id}-place`} required maxLength={300} value={place} onChange={(e) => setPlace(e.target.value)} />
        </>
      )}
      {kind === 'seminar' && (
        <>
          <label htmlFor={`${id}-seminar`}>{t('callsForYou.field.seminar')}</label>
          <select id={`${id}-seminar`} required value={seminarId} onChange={(e) => setSeminarId(e.target.value)}>
            <option value="">{t('callsForYou.field.chooseSeminar')}</option>
            {seminars.map((seminar) => (
              <option key={seminar.id} value={seminar.id} disabled={seminar.seatsLeft === 0}>
                {t('callsForYou.seminarOption', { title: seminar.title, place: seminar.place, left: seminar.seatsLeft })}
              </option>
            ))}
          </select>
          <label htmlFor={`${id}-seats`}>{t('callsForYou.field.seats')}</label>
          <input id={`${id}-seats`} type="number" min={1} max={20} required value={seats} onChange={(e) => setSeats(Number(e.target.value))} />
        </>
      )}
      {kind !== 'seminar' && (
        <>
          <label htmlFor={`${id}-body`}>{t(kind === 'visit' ? 'callsForYou.field.note' : 'callsForYou.field.body')}</label>
          <textarea id={`${id}-body`} maxLength={5_000} value={body} onChange={(e) => setBody(e.target.value)} />
        </>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={saving}>
          {t('callsForYou.save')}
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
    </form>
  );
}
