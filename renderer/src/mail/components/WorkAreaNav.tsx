import { useTranslation } from 'react-i18next';
import { useCallsForYouStore } from '../../calls-for-you/store.js';
import { useCallHistoryStore } from '../../history/store.js';
import { useSessionStore } from '../../stores/session.js';
import { useMailDeskStore } from '../stores/desk.js';
import { useReturnedRepliesStore } from '../stores/returned.js';
import { useReviewStore } from '../stores/review.js';
import { areasFor, useWorkAreaStore, type WorkArea } from '../stores/work-area.js';

/** The work areas under the top bar: customers, mail, returned replies; for supervisors also review, failed and live. */
export function WorkAreaNav() {
  const { t } = useTranslation();
  const user = useSessionStore((s) => s.session?.user);
  const area = useWorkAreaStore((s) => s.area);
  const offered = useMailDeskStore((s) => (s.mail ? 1 : 0));
  const returned = useReturnedRepliesStore((s) => s.replies.length);
  const pendingReview = useReviewStore((s) => s.summary?.mails.pendingReview ?? s.items.length);
  const failed = useReviewStore((s) => s.summary?.mails.failed ?? s.failed.length);
  const missed = useCallHistoryStore((s) => s.missedUnseen);
  const unhandled = useCallsForYouStore((s) => s.counts?.unhandled ?? 0);
  const counts: Partial<Record<WorkArea, number>> = { history: missed, callsForYou: unhandled, mail: offered, returned, review: pendingReview, failed };

  return (
    <nav className="work-area-nav" aria-label={t('mail.nav.label')}>
      <ul>
        {areasFor(user).map((name) => {
          const count = counts[name] ?? 0;
          return (
            <li key={name}>
              <button
                type="button"
                aria-current={area === name ? 'page' : undefined}
                data-testid={`area-${name}`}
                data-count={count}
                onClick={() => useWorkAreaStore.getState().show(name)}
              >
                {t(`mail.nav.${name}`)}
                {count > 0 && (
                  <span className="nav-count">
                    <span className="visually-hidden"> (</span>
                    {count}
                    <span className="visually-hidden">)</span>
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
