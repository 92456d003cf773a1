import { useTranslation } from 'react-i18next';
import type { SupervisorSummary } from '../../../shared/api.js';
import { formatDuration } from '../format.js';

/**
 * The call queue in the supervisor's live view: how many callers wait and how many gave up
 * today, and each waiting caller's place and wait. The wait runs on between the backend's
 * pushes (`elapsed`: seconds since the summary arrived).
 */
export function CallQueuePanel({ callQueue, elapsed }: { callQueue: SupervisorSummary['callQueue']; elapsed: number }) {
  const { t } = useTranslation();
  return (
    <section className="call-queue" aria-labelledby="call-queue-heading" data-testid="call-queue">
      <h3 id="call-queue-heading">{t('mail.live.queueHeading')}</h3>
      <div className="live-counters">
        <div className="counter" data-testid="queue-waiting" data-value={callQueue.callers.length}>
          <span className="counter-value">{callQueue.callers.length}</span>
          <span className="counter-label">{t('mail.live.queueWaiting')}</span>
        </div>
        <div className="counter" data-testid="queue-abandoned" data-value={callQueue.abandonedToday}>
          <span className="counter-value">{callQueue.abandonedToday}</span>
          <span className="counter-label">{t('mail.live.abandonedToday')}</span>
        </div>
      </div>
      {callQueue.callers.length === 0 ? (
        <p data-testid="queue-empty">{t('mail.live.queueEmpty')}</p>
      ) : (
        <table className="data-table queue-table" data-testid="queue-table">
          <thead>
            <tr>
              <th scope="col">{t('mail.live.queuePosition')}</th>
              <th scope="col">{t('mail.live.queueCaller')}</th>
              <th scope="col">{t('mail.live.queueWait')}</th>
            </tr>
          </thead>
          <tbody>
            {callQueue.callers.map((caller) => (
              <tr key={caller.callId} data-testid="queue-row" data-call-id={caller.callId} data-position={caller.position}>
                <td>{caller.position}</td>
                <th scope="row">{caller.customerName ?? (caller.caller === '' ? t('mail.live.queueUnknownCaller') : caller.caller)}</th>
                <td data-testid="queue-wait">{formatDuration(caller.secondsWaiting + elapsed)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
