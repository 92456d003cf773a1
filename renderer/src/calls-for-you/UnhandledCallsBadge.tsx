import { useTranslation } from 'react-i18next';
import { useWorkAreaStore } from '../mail/stores/work-area.js';
import { useCallsForYouStore } from './store.js';

/** The top bar's count of calls nobody handled yet; opens "calls for you". Hidden at zero. */
export function UnhandledCallsBadge() {
  const { t } = useTranslation();
  const unhandled = useCallsForYouStore((s) => s.counts?.unhandled ?? 0);
  if (unhandled === 0) return null;
  return (
    <button type="button" className="quiet cfy-badge" data-testid="cfy-badge" data-count={unhandled} onClick={() => useWorkAreaStore.getState().show('callsForYou')}>
      {t('callsForYou.badge', { count: unhandled })}
    </button>
  );
}
