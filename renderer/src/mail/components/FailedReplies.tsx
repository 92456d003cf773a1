import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ReplyView } from '../../../../shared/api.js';
import type { AppError } from '../../../../shared/result.js';
import { ErrorText } from '../../components/ErrorText.js';
import { formatDateTime } from '../../format.js';
import { useSyncStore } from '../../stores/sync.js';
import { useUiStore } from '../../stores/ui.js';
import { useReviewStore } from '../stores/review.js';

/**
 * Approved replies the relay refused or that could not be handed over. A reply whose sending
 * was interrupted may have reached the customer: sending it again asks first.
 */
export function FailedReplies() {
  const { t } = useTranslation();
  const failed = useReviewStore((s) => s.failed);
  const error = useReviewStore((s) => s.failedError);
  const online = useSyncStore((s) => s.status?.online ?? true);

  useEffect(() => {
    void useReviewStore.getState().loadFailed();
  }, []);

  return (
    <section className="failed-replies" aria-labelledby="failed-heading" data-testid="failed-replies">
      <div className="area-head">
        <h2 id="failed-heading">{t('mail.failed.heading', { count: failed.length })}</h2>
        <button type="button" onClick={() => void useReviewStore.getState().loadFailed()}>
          {t('mail.review.refresh')}
        </button>
      </div>
      {!online && (
        <p className="notice offline-notice" role="status">
          {t('mail.failed.needsConnection')}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {failed.length === 0 && !error && <p className="muted">{t('mail.failed.none')}</p>}
      <ul className="card-list">
        {failed.map((reply) => (
          <FailedReply key={reply.id} reply={reply} online={online} />
        ))}
      </ul>
    </section>
  );
}

function FailedReply({ reply, online }: { reply: ReplyView; online: boolean }) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const interrupted = reply.failure === 'interrupted';

  async function requeue() {
    const result = await useReviewStore.getState().requeue(reply.id);
    if (!result.ok) setError(result.error);
  }

  return (
    <li className="card" data-testid="failed-reply" data-reply-id={reply.id} data-failure={reply.failure ?? ''}>
      <h3 className="card-title">{reply.subject}</h3>
      <p className="muted">
        {reply.toAddress} · {reply.authorName} · <time dateTime={reply.updatedAt}>{formatDateTime(reply.updatedAt, language)}</time>
      </p>
      <p>
        <strong>{t(`mail.failed.reason.${reply.failure ?? 'rejected'}`)}</strong>
        {reply.lastError && <span className="error-detail"> ({reply.lastError})</span>}
      </p>
      {interrupted && !confirming && <p className="notice">{t('mail.failed.interruptedHint')}</p>}
      {confirming ? (
        <div className="review-actions">
          <span>{t('mail.failed.confirm')}</span>
          <button type="button" className="primary" disabled={!online} onClick={() => void requeue()}>
            {t('mail.failed.sendAgain')}
          </button>
          <button type="button" className="quiet" onClick={() => setConfirming(false)}>
            {t('mail.review.cancel')}
          </button>
        </div>
      ) : (
        <button type="button" disabled={!online} onClick={() => (interrupted ? setConfirming(true) : void requeue())}>
          {t('mail.failed.requeue')}
        </button>
      )}
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
    </li>
  );
}
