import { useTranslation } from 'react-i18next';
import { useMonitoredStore } from './monitored-call.js';

/**
 * In the operator's phone: "supervisor listening / whispering / joined", when the tenant lets
 * operators see monitoring; and that it ended because the supervisor's side was lost, with the
 * reassurance that the call goes on.
 */
export function MonitoredCallNotice() {
  const { t } = useTranslation();
  const session = useMonitoredStore((s) => s.session);
  const ended = useMonitoredStore((s) => s.ended);
  if (session?.visibleToOperator) {
    return (
      <p className="notice monitored" role="status" data-testid="monitored-notice" data-mode={session.mode}>
        {t(`monitor.operatorNotice.${session.mode}`, { supervisor: session.supervisorName })}
      </p>
    );
  }
  if (ended?.visible && ended.reason === 'supervisor_lost') {
    return (
      <div className="notice" role="status" data-testid="monitored-lost">
        <p>{t('monitor.operatorNotice.lost', { supervisor: ended.supervisorName })}</p>
        <button type="button" className="quiet" onClick={() => useMonitoredStore.getState().dismiss()}>
          {t('monitor.dismiss')}
        </button>
      </div>
    );
  }
  return null;
}
