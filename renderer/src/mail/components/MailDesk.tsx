import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { AppError } from '../../../../shared/result.js';
import { invoke } from '../../api.js';
import { ErrorText } from '../../components/ErrorText.js';
import { formatDateTime } from '../../format.js';
import { useUiStore } from '../../stores/ui.js';
import { useMailDeskStore } from '../stores/desk.js';
import { useReturnedRepliesStore } from '../stores/returned.js';
import { MailBody } from './MailBody.js';
import { MailHeaders } from './MailHeaders.js';
import { MoveMail } from './MoveMail.js';
import { NeedsMatching } from './NeedsMatching.js';
import { ReplyComposer } from './ReplyComposer.js';

/**
 * The operator's mail desk: the mail offered to them (leased: nobody else gets it meanwhile),
 * read safely, answered with a template and submitted for review; then the next one.
 */
export function MailDesk() {
  const { t } = useTranslation();
  const phase = useMailDeskStore((s) => s.phase);
  const mail = useMailDeskStore((s) => s.mail);
  const composing = useMailDeskStore((s) => s.composing);
  const error = useMailDeskStore((s) => s.error);
  const lastOutcome = useMailDeskStore((s) => s.lastOutcome);
  const returnedCount = useReturnedRepliesStore((s) => s.replies.length);

  return (
    <section className="mail-desk" aria-labelledby="mail-desk-heading" data-testid="mail-desk" data-phase={phase}>
      <div className="area-head">
        <h2 id="mail-desk-heading">{t('mail.desk.heading')}</h2>
        {!mail && (
          <button type="button" onClick={() => void useMailDeskStore.getState().askNext({ byUser: true })} disabled={phase === 'asking'}>
            {t('mail.desk.next')}
          </button>
        )}
      </div>
      {lastOutcome && (
        <p className="notice" role="status" data-testid="desk-outcome">
          {t(`mail.desk.outcome.${lastOutcome.kind}`, { subject: lastOutcome.subject })}
        </p>
      )}
      {!mail && (
        <p className="desk-status" role="status" data-testid="desk-status">
          {phase === 'error' && error ? <ErrorText error={error} /> : t(`mail.desk.phase.${phase}`)}
        </p>
      )}
      {returnedCount > 0 && <p className="hint">{t('mail.desk.returnedWaiting', { count: returnedCount })}</p>}
      <LocalDrafts />
      <NeedsMatching />
      {mail && composing && (
        <article className="offered-mail" data-testid="offered-mail" data-mail-id={mail.id} aria-label={t('mail.desk.offeredLabel')}>
          <div className="mail-columns">
            <div className="mail-column">
              <MailHeaders mail={mail} />
              <MoveMail key={mail.id} mail={mail} />
              <MailBody key={mail.id} mail={mail} />
              <DeskActions />
            </div>
            <div className="mail-column">
              {mail.kind === 'fax' ? (
                <p className="hint" data-testid="fax-no-reply">
                  {t('mail.contactDoc.faxNoReply')}
                </p>
              ) : (
              <ReplyComposer
                key={composing.replyId}
                replyId={composing.replyId}
                mail={mail}
                initialSubject={composing.subject}
                initialBody={composing.body}
                {...(composing.toAddress ? { initialTo: composing.toAddress } : {})}
                existing={composing.existing}
                onSubmitted={() => useMailDeskStore.getState().finish({ kind: 'submitted', subject: mail.subject })}
              />
              )}
            </div>
          </div>
        </article>
      )}
    </section>
  );
}

function DeskActions() {
  const { t } = useTranslation();
  const [closing, setClosing] = useState(false);
  const [note, setNote] = useState('');
  const [error, setError] = useState<AppError | null>(null);

  async function release() {
    const result = await useMailDeskStore.getState().release();
    if (!result.ok) setError(result.error);
  }

  async function close() {
    const result = await useMailDeskStore.getState().close(note);
    if (!result.ok) setError(result.error);
  }

  return (
    <div className="desk-actions">
      <button type="button" onClick={() => void release()}>
        {t('mail.desk.release')}
      </button>
      {!closing ? (
        <button type="button" onClick={() => setClosing(true)}>
          {t('mail.desk.closeNoReply')}
        </button>
      ) : (
        <div className="close-form">
          <label htmlFor="close-note">{t('mail.desk.closeNote')}</label>
          <input id="close-note" type="text" maxLength={2000} value={note} onChange={(event) => setNote(event.target.value)} />
          <button type="button" onClick={() => void close()}>
            {t('mail.desk.closeConfirm')}
          </button>
          <button type="button" className="quiet" onClick={() => setClosing(false)}>
            {t('mail.desk.cancel')}
          </button>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
    </div>
  );
}

/** Drafts saved while offline: waiting for the connection, or refused by the backend (kept so nothing typed is lost). */
function LocalDrafts() {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const drafts = useMailDeskStore((s) => s.localDrafts);
  if (drafts.length === 0) return null;
  return (
    <section className="local-drafts" aria-labelledby="local-drafts-heading" data-testid="local-drafts">
      <h3 id="local-drafts-heading">{t('mail.drafts.heading', { count: drafts.length })}</h3>
      <ul className="plain-list">
        {drafts.map((draft) => (
          <li key={draft.replyId} data-testid="local-draft" data-refused={draft.error !== null}>
            <span>{draft.subject ?? t('mail.drafts.untitled')}</span>{' '}
            <time className="muted" dateTime={draft.savedAt}>
              {formatDateTime(draft.savedAt, language)}
            </time>{' '}
            {draft.error === null ? (
              <span className="pending-badge">{t('mail.drafts.waiting')}</span>
            ) : (
              <>
                <span className="error">{t('mail.drafts.refused', { reason: draft.error })}</span>{' '}
                <button type="button" className="quiet" onClick={() => void invoke('reply:discardLocal', { replyId: draft.replyId })}>
                  {t('mail.drafts.discard')}
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
