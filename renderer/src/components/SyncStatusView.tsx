import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../format.js';
import { useSyncStore } from '../stores/sync.js';
import { useUiStore } from '../stores/ui.js';

/** Always visible: an operator must know whether what they see is live and whether notes still wait to be sent. */
export function SyncStatusView() {
  const { t } = useTranslation();
  const status = useSyncStore((s) => s.status);
  const coreError = useSyncStore((s) => s.error);
  const syncRequested = useSyncStore((s) => s.syncRequested);
  const syncNow = useSyncStore((s) => s.syncNow);
  const language = useUiStore((s) => s.language);

  const online = status?.online ?? false;
  const connectionText = !status
    ? coreError
      ? t('sync.coreUnreachable')
      : t('sync.checking')
    : online
      ? t('sync.online')
      : t('sync.offline');
  // Only the connection is a live region: the phase flips on every background pull and
  // announcing each one would drown a screen-reader user.
  const progress = status?.phase === 'snapshot' ? status.progress : null;
  // The progress bar speaks for the first sync (its label says so); other phases get a word.
  const activity = status && online && !progress && status.phase !== 'idle' && status.phase !== 'offline' ? status.phase : null;
  const percent = progress && progress.total > 0 ? Math.min(100, (progress.done / progress.total) * 100) : 0;

  return (
    <div className="sync-status" data-testid="sync-status" data-online={online} data-phase={status?.phase ?? 'unknown'}>
      <span className={`sync-dot ${online ? 'is-online' : 'is-offline'}`} aria-hidden="true" />
      {/* Which backend instance this app is on (several may serve one database), for IT. */}
      <span className="sync-state" role="status" title={status?.backend ? t('sync.server', { backend: status.backend }) : undefined} data-backend={status?.backend}>
        {connectionText}
      </span>
      {activity && <span className={`sync-activity is-${activity}`}>{t(`sync.activity.${activity}`)}</span>}
      <span className="sync-last">
        {status?.lastSyncedAt
          ? t('sync.lastSynced', { time: formatDateTime(status.lastSyncedAt, language) })
          : t('sync.neverSynced')}
      </span>
      <span className="sync-pending">
        {t('sync.pendingLabel')}{' '}
        <strong data-testid="pending-count" data-count={status?.pendingOutbox ?? 0}>
          {status?.pendingOutbox ?? 0}
        </strong>
      </span>
      {progress && (
        <span className="sync-progress">
          <span
            className="progress-track"
            role="progressbar"
            aria-label={t('sync.firstSync')}
            aria-valuemin={0}
            aria-valuemax={progress.total}
            aria-valuenow={progress.done}
            aria-valuetext={t('sync.progressText', { done: progress.done, total: progress.total })}
          >
            <span className="progress-fill" style={{ width: `${percent}%` }} />
          </span>
          <span className="progress-text" aria-hidden="true">
            {t('sync.progressText', { done: progress.done, total: progress.total })}
          </span>
        </span>
      )}
      <button type="button" className="quiet" onClick={() => void syncNow()} disabled={syncRequested || !status}>
        {t('sync.syncNow')}
      </button>
    </div>
  );
}
