import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { MailView, ReplyView } from '../../../../shared/api.js';
import type { AppError } from '../../../../shared/result.js';
import { invoke } from '../../api.js';
import { ErrorText } from '../../components/ErrorText.js';
import { CallMailComposer } from '../../calls-for-you/CallMailComposer.js';
import { formatDateTime } from '../../format.js';
import { useUiStore } from '../../stores/ui.js';
import { useReturnedRepliesStore } from '../stores/returned.js';
import { MailBody } from './MailBody.js';
import { MailHeaders } from './MailHeaders.js';
import { ReplyComposer } from './ReplyComposer.js';

/** The operator's replies a supervisor sent back, each with the comment; edit and submit again. */
export function ReturnedReplies() {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const phase = useReturnedRepliesStore((s) => s.phase);
  const replies = useReturnedRepliesStore((s) => s.replies);
  const error = useReturnedRepliesStore((s) => s.error);
  const selectedId = useReturnedRepliesStore((s) => s.selectedId);
  const [resubmitted, setResubmitted] = useState<string | null>(null);
  const selected = replies.find((reply) => reply.id === selectedId) ?? null;

  // The backend announces no event to the author when a reply is returned: ask when shown.
  useEffect(() => {
    void useReturnedRepliesStore.getState().load();
  }, []);

  return (
    <section className="returned-replies" aria-labelledby="returned-heading" data-testid="returned-replies" data-phase={phase}>
      <div className="area-head">
        <h2 id="returned-heading">{t('mail.returned.heading')}</h2>
        <button type="button" onClick={() => void useReturnedRepliesStore.getState().load()}>
          {t('mail.returned.refresh')}
        </button>
      </div>
      {resubmitted && (
        <p className="notice" role="status">
          {t('mail.returned.resubmitted', { subject: resubmitted })}
        </p>
      )}
      {phase === 'error' && error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {phase === 'ready' && replies.length === 0 && <p className="muted">{t('mail.returned.none')}</p>}
      <ul className="card-list">
        {replies.map((reply) => (
          <li key={reply.id} className={`card${reply.id === selectedId ? ' is-selected' : ''}`} data-testid="returned-reply" data-reply-id={reply.id}>
            <h3 className="card-title">{reply.subject}</h3>
            <p className="muted">
              {t('mail.returned.by', { name: reply.reviewerName ?? '—' })}{' '}
              {reply.reviewedAt && <time dateTime={reply.reviewedAt}>{formatDateTime(reply.reviewedAt, language)}</time>}
            </p>
            <blockquote className="review-comment" data-testid="review-comment">
              {reply.reviewComment}
            </blockquote>
            {reply.id !== selectedId && (
              <button type="button" onClick={() => useReturnedRepliesStore.getState().select(reply.id)}>
                {t('mail.returned.edit')}
              </button>
            )}
          </li>
        ))}
      </ul>
      {selected && (
        <ReturnedEditor
          key={selected.id}
          reply={selected}
          onResubmitted={() => {
            setResubmitted(selected.subject);
            useReturnedRepliesStore.getState().resubmitted(selected.id);
          }}
        />
      )}
    </section>
  );
}

function ReturnedEditor({ reply, onResubmitted }: { reply: ReplyView; onResubmitted(): void }) {
  const { t } = useTranslation();
  const [mail, setMail] = useState<MailView | null>(null);
  const [error, setError] = useState<AppError | null>(null);

  useEffect(() => {
    let current = true;
    if (reply.mailId === null) return;
    void invoke('mail:get', { mailId: reply.mailId }).then((result) => {
      if (!current) return;
      if (result.ok) setMail(result.value);
      else setError(result.error);
    });
    return () => {
      current = false;
    };
  }, [reply.mailId]);

  return (
    <article className="returned-editor" aria-label={t('mail.returned.editorLabel')} data-testid="returned-editor">
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {reply.mailId === null && reply.callKey !== null && (
        <CallMailComposer
          replyId={reply.id}
          callKey={reply.callKey}
          initialSubject={reply.subject}
          initialBody={reply.body}
          toAddress={reply.toAddress}
          submitLabel={t('mail.returned.resubmit')}
          onSubmitted={onResubmitted}
        />
      )}
      {mail && (
        <div className="mail-columns">
          <div className="mail-column">
            <MailHeaders mail={mail} />
            <MailBody key={mail.id} mail={mail} />
          </div>
          <div className="mail-column">
            <ReplyComposer
              replyId={reply.id}
              mail={mail}
              initialSubject={reply.subject}
              initialBody={reply.body}
              initialTo={reply.toAddress}
              existing
              submitLabel={t('mail.returned.resubmit')}
              onSubmitted={onResubmitted}
            />
          </div>
        </div>
      )}
    </article>
  );
}
