import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { MonitorMode, type LiveCallView } from '../../../shared/monitoring.js';
import { ErrorText } from '../components/ErrorText.js';
import { formatDuration } from '../format.js';
import { followLiveCalls, useLiveCallsStore } from './live-calls.js';

const MODES = MonitorMode.options;

function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/**
 * The supervisor's connected calls (issue 11): operator, customer, how long, whether the
 * operator asked for help, and Listen / Whisper / Barge / Stop per call. The list follows the
 * backend's pushes; the running session's mode is the pressed button.
 */
export function LiveCallsPanel() {
  const { t } = useTranslation();
  const calls = useLiveCallsStore((s) => s.calls);
  const loaded = useLiveCallsStore((s) => s.loaded);
  const error = useLiveCallsStore((s) => s.error);
  const problem = useLiveCallsStore((s) => s.problem);
  const offset = useLiveCallsStore((s) => s.clockOffsetMs);
  const now = useNow() + offset;

  useEffect(() => followLiveCalls(), []);

  return (
    <section className="live-calls" aria-labelledby="live-calls-heading" data-testid="live-calls">
      <h3 id="live-calls-heading">{t('monitor.heading')}</h3>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {problem && (
        <div className={problem.kind === 'error' ? 'error' : 'notice'} role="alert" data-testid="monitor-problem">
          {problem.kind === 'error' ? <ErrorText error={problem.error} /> : <p>{t(`monitor.ended.${problem.reason}`, { agent: problem.agentName })}</p>}
          <button type="button" className="quiet" onClick={() => useLiveCallsStore.getState().dismissProblem()}>
            {t('monitor.dismiss')}
          </button>
        </div>
      )}
      {!loaded && !error && <p role="status">{t('monitor.loading')}</p>}
      {loaded && calls.length === 0 && <p data-testid="live-calls-empty">{t('monitor.empty')}</p>}
      {calls.length > 0 && (
        <table className="data-table live-calls-table" data-testid="live-calls-table">
          <thead>
            <tr>
              <th scope="col">{t('monitor.operator')}</th>
              <th scope="col">{t('monitor.customer')}</th>
              <th scope="col">{t('monitor.duration')}</th>
              <th scope="col">{t('monitor.help')}</th>
              <th scope="col">{t('monitor.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((call) => (
              <LiveCallRow key={call.callId} call={call} now={now} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function LiveCallRow({ call, now }: { call: LiveCallView; now: number }) {
  const { t } = useTranslation();
  const monitor = useLiveCallsStore((s) => (s.monitor?.callId === call.callId ? s.monitor : null));
  const seconds = call.answeredAt ? Math.max(0, (now - Date.parse(call.answeredAt)) / 1000) : 0;
  const customer = call.customerName ?? (call.remote === '' ? t('monitor.unknownCustomer') : call.remote);
  const rowLabel = t('monitor.rowLabel', { agent: call.agentName, customer });
  return (
    <tr
      data-testid="live-call"
      data-call-id={call.callId}
      data-help={call.helpRequestedAt ? 'requested' : 'none'}
      data-monitor-mode={monitor?.mode ?? 'none'}
      data-monitor-phase={monitor?.phase ?? 'none'}
    >
      <th scope="row">{call.agentName}</th>
      <td>{customer}</td>
      <td data-testid="live-call-duration">{formatDuration(seconds)}</td>
      <td>{call.helpRequestedAt && <span className="badge help-badge" data-testid="help-requested">{t('monitor.helpRequested')}</span>}</td>
      <td>
        <div className="monitor-actions" role="group" aria-label={rowLabel}>
          {MODES.map((mode) => (
            <button
              key={mode}
              type="button"
              aria-pressed={monitor?.mode === mode}
              disabled={monitor?.phase === 'starting'}
              data-testid={`monitor-${mode}`}
              onClick={() => void useLiveCallsStore.getState().choose(call.callId, mode)}
            >
              {t(`monitor.mode.${mode}`)}
            </button>
          ))}
          {monitor && (
            <button type="button" data-testid="monitor-stop" onClick={() => void useLiveCallsStore.getState().stop()}>
              {t('monitor.stop')}
            </button>
          )}
        </div>
        {monitor && (
          <span className="monitor-state" role="status" data-testid="monitor-state">
            {t(`monitor.phase.${monitor.phase}`, { mode: t(`monitor.mode.${monitor.mode}`) })}
          </span>
        )}
      </td>
    </tr>
  );
}
