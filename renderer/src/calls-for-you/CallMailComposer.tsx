import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ReplyView } from '../../../shared/api.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';

export interface CallMailComposerProps {
  replyId: string;
  /** The "calls for you" call the mail answers. */
  callKey: string;
  initialSubject: string;
  initialBody: string;
  /** The customer's address the backend sends it to. */
  toAddress: string;
  submitLabel?: string;
  onSubmitted(reply: ReplyView): void;
}

type Status = { kind: 'idle' } | { kind: 'busy' } | { kind: 'saved' } | { kind: 'savedLocally' } | { kind: 'error'; error: AppError } | { kind: 'submitted' };

/**
 * A new mail to a caller, prefilled from the tenant's callback template. It is a reply draft
 * whose origin is the call: saved like any draft (on this computer when offline) and sent only
 * after a supervisor approves it in the review queue.
 */
export function CallMailComposer({ replyId, callKey, initialSubject, initialBody, toAddress, submitLabel, onSubmitted }: CallMailComposerProps) {
  const { t } = useTranslation();
  const formId = useId();
  const [subject, setSubject] = useState(initialSubject);
  const [body, setBody] = useState(initialBody);
  const [status, setStatus] = useState<Status>({ kind: 'idle' });

  async function save(): Promise<boolean> {
    setStatus({ kind: 'busy' });
    const result = await invoke('reply:save', { replyId, callKey, ...(subject.trim() ? { subject: subject.trim() } : {}), body });
    if (!result.ok) {
      setStatus({ kind: 'error', error: result.error });
      return false;
    }
    if (result.value.reply) {
      setSubject(result.value.reply.subject);
      setStatus({ kind: 'saved' });
      return true;
    }
    setStatus({ kind: 'savedLocally' });
    return false;
  }

  async function submit() {
    if (body.trim() === '') {
      setStatus({ kind: 'error', error: { code: 'invalid_input', message: t('callsForYou.mail.emptyBody') } });
      return;
    }
    if (!(await save())) return;
    setStatus({ kind: 'busy' });
    const result = await invoke('reply:submit', { replyId });
    if (!result.ok) {
      setStatus({ kind: 'error', error: result.error });
      return;
    }
    setStatus({ kind: 'submitted' });
    onSubmitted(result.value);
  }

  const busy = status.kind === 'busy' || status.kind === 'submitted';
  return (
    <form
      className="reply-composer"
      aria-labelledby={`${formId}-heading`}
      data-testid="cfy-mail-composer"
      data-status={status.kind}
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <h3 id={`${formId}-heading`}>{t('callsForYou.mail.heading')}</h3>
      <p>
        {t('callsForYou.mail.to')} <strong data-testid="cfy-mail-to">{toAddress}</strong>
      </p>
      <div className="field">
        <label htmlFor={`${formId}-subject`}>{t('callsForYou.mail.subject')}</label>
        <input id={`${formId}-subject`} type="text" value={subject} maxLength={300} onChange={(event) => setSubject(event.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${formId}-body`}>{t('callsForYou.mail.body')}</label>
        <textarea id={`${formId}-body`} rows={10} value={body} maxLength={20_000} onChange={(event) => setBody(event.target.value)} />
      </div>
      <div className="composer-actions">
        <button type="button" disabled={busy} onClick={() => void save()}>
          {t('callsForYou.mail.save')}
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {submitLabel ?? t('callsForYou.mail.submit')}
        </button>
      </div>
      <p className="composer-status" role="status" data-testid="cfy-mail-status">
        {status.kind === 'saved' && t('callsForYou.mail.saved')}
        {status.kind === 'savedLocally' && t('callsForYou.mail.savedLocally')}
        {status.kind === 'submitted' && t('callsForYou.mail.submitted')}
      </p>
      {status.kind === 'error' && (
        <p className="error" role="alert">
          <ErrorText error={status.error} />
        </p>
      )}
    </form>
  );
}
