import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { SupervisorAgent } from '../../../../shared/api.js';
import { OverdueCallbacks } from '../../callbacks/CallbackWorklist.js';
import { ErrorText } from '../../components/ErrorText.js';
import { formatDuration } from '../../format.js';
import { CallQueuePanel } from '../../supervisor/CallQueuePanel.js';
import { LiveCallsPanel } from '../../supervisor/LiveCallsPanel.js';
import { useReviewStore } from '../stores/review.js';
import { VolumeChart } from './VolumeChart.js';

/** Ticks once a second so "time in status" runs on between the backend's pushes. */
function useSecondsSince(receivedAt: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return receivedAt === 0 ? 0 : Math.max(0, (now - receivedAt) / 1000);
}

/**
 * The supervisor's live view: who is available, on a call, in after-call work or on break and
 * for how long; calls ringing and connected; callers in the call queue; mail waiting, offered,
 * pending review, sending and failed; today's volume by hour. Everything comes from the
 * backend's pushed summary, except the overdue callbacks of the tenant (the callback worklist's,
 * refreshed on a timer).
 */
export function LiveView() {
  const { t } = useTranslation();
  const summary = useReviewStore((s) => s.summary);
  const error = useReviewStore((s) => s.summaryError);
  const receivedAt = useReviewStore((s) => s.summaryReceivedAt);
  const elapsed = useSecondsSince(receivedAt);

  useEffect(() => {
    void useReviewStore.getState().loadSummary();
  }, []);

  return (
    <section className="live-view" aria-labelledby="live-heading" data-testid="live-view">
      <h2 id="live-heading">{t('mail.live.heading')}</h2>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {!summary && !error && <p role="status">{t('mail.live.loading')}</p>}
      {summary && (
        <>
          {summary.paused && (
            <p className="notice" role="status" data-testid="mail-paused">
              {t('mail.live.paused')}
            </p>
          )}
          {summary.mails.relayTrouble && (
            <div className="error" role="alert" data-testid="relay-trouble">
              <p>{t('mail.live.relayTrouble', { count: summary.mails.relayTrouble.retrying })}</p>
              <p>
                {t('mail.live.relayError')} <code data-testid="relay-error">{summary.mails.relayTrouble.lastError}</code>
              </p>
            </div>
          )}
          <div className="live-counters">
            <Counter testId="calls-ringing" label={t('mail.live.callsRinging')} value={summary.calls.ringing} />
            <Counter testId="calls-connected" label={t('mail.live.callsConnected')} value={summary.calls.connected} />
            <Counter testId="mails-waiting" label={t('mail.live.mailsWaiting')} value={summary.mails.waiting} />
            <Counter testId="mails-offered" label={t('mail.live.mailsOffered')} value={summary.mails.offered} />
            <Counter testId="mails-pending-review" label={t('mail.live.pendingReview')} value={summary.mails.pendingReview} />
            <Counter testId="mails-sending" label={t('mail.live.sending')} value={summary.mails.sending} />
            <Counter testId="mails-failed" label={t('mail.live.failed')} value={summary.mails.failed} />
          </div>
          <h3>{t('mail.live.agents')}</h3>
          <table className="data-table agents-table" data-testid="agents-table">
            <thead>
              <tr>
                <th scope="col">{t('mail.live.agent')}</th>
                <th scope="col">{t('mail.live.status')}</th>
                <th scope="col">{t('mail.live.timeInStatus')}</th>
              </tr>
            </thead>
            <tbody>
              {summary.agents.map((agent) => (
                <AgentRow key={agent.userId} agent={agent} elapsed={elapsed} />
              ))}
            </tbody>
          </table>
          <CallQueuePanel callQueue={summary.callQueue} elapsed={elapsed} />
          <LiveCallsPanel />
          <VolumeChart hours={summary.today.hours} date={summary.today.date} timeZone={summary.today.timeZone} />
        </>
      )}
      <OverdueCallbacks />
    </section>
  );
}

function Counter({ label, value, testId }: { label: string; value: number; testId: string }) {
  return (
    <div className="counter" data-testid={testId} data-value={value}>
      <span className="counter-value">{value}</span>
      <span className="counter-label">{label}</span>
    </div>
  );
}

function AgentRow({ agent, elapsed }: { agent: SupervisorAgent; elapsed: number }) {
  const { t } = useTranslation();
  return (
    <tr data-testid="agent-row" data-user-id={agent.userId} data-status={agent.status}>
      <th scope="row">{agent.displayName}</th>
      <td>
        <span className={`status-dot status-${agent.status}`} aria-hidden="true" /> {t(`mail.live.agentStatus.${agent.status}`)}
      </td>
      <td>{agent.status === 'offline' ? '—' : formatDuration(agent.secondsInStatus + elapsed)}</td>
    </tr>
  );
}
