import { useEffect } from 'react';
import { currentBridge } from '../../api.js';
import { assertNever } from '../../../../shared/result.js';
import { useSessionStore } from '../../stores/session.js';
import { connectMailEvents } from '../mail-events.js';
import { resetMailStores } from '../stores/reset.js';
import { useMailDeskStore } from '../stores/desk.js';
import { useReturnedRepliesStore } from '../stores/returned.js';
import { useReviewStore } from '../stores/review.js';
import { mayReview, useWorkAreaStore } from '../stores/work-area.js';
import { lazyScreen } from '../../shell/lazy-screen.js';
import '../mail.css';

// Opened from the work-area bar, never at idle: chunks of their own (shell/lazy-screen.tsx).
const MailDesk = lazyScreen(() => import('./MailDesk.js').then((m) => m.MailDesk));
const ReturnedReplies = lazyScreen(() => import('./ReturnedReplies.js').then((m) => m.ReturnedReplies));
const ReviewQueue = lazyScreen(() => import('./ReviewQueue.js').then((m) => m.ReviewQueue));
const FailedReplies = lazyScreen(() => import('./FailedReplies.js').then((m) => m.FailedReplies));
const LiveView = lazyScreen(() => import('./LiveView.js').then((m) => m.LiveView));
const AuditViewer = lazyScreen(() => import('../../audit/AuditViewer.js').then((m) => m.AuditViewer));
const ReportsView = lazyScreen(() => import('../../reports/ReportsView.js').then((m) => m.ReportsView));

/**
 * The mail work areas of a signed-in user, and the mail channel's life in the window: mounted
 * with the workspace (sign-in), it starts listening and asks for the first mail; unmounted
 * (sign-out), it forgets everything of this user's mail.
 */
export function MailWorkArea() {
  const area = useWorkAreaStore((s) => s.area);
  const user = useSessionStore((s) => s.session?.user);
  const supervisor = mayReview(user);

  useEffect(() => {
    const off = connectMailEvents(currentBridge());
    void useMailDeskStore
      .getState()
      .loadLocalDrafts()
      .then(() => useMailDeskStore.getState().askNext());
    void useReturnedRepliesStore.getState().load();
    return () => {
      off();
      resetMailStores();
    };
  }, []);

  useEffect(() => {
    if (supervisor) void useReviewStore.getState().loadSummary();
  }, [supervisor]);

  switch (area) {
    case 'customers':
    case 'history':
    case 'callsForYou':
    case 'exchange':
    case 'portal':
    case 'admin':
      return null;
    case 'mail':
      return (
        <main className="mail-pane" id="mail-main" tabIndex={-1}>
          <MailDesk />
        </main>
      );
    case 'returned':
      return (
        <main className="mail-pane" id="mail-main" tabIndex={-1}>
          <ReturnedReplies />
        </main>
      );
    case 'review':
    case 'failed':
    case 'live':
      if (!supervisor) return null;
      return (
        <main className="mail-pane" id="mail-main" tabIndex={-1}>
          {area === 'review' ? <ReviewQueue /> : area === 'failed' ? <FailedReplies /> : <LiveView />}
        </main>
      );
    case 'audit':
      if (!supervisor) return null;
      return (
        <main className="mail-pane" id="mail-main" tabIndex={-1}>
          <AuditViewer />
        </main>
      );
    case 'reports':
      if (!supervisor) return null;
      return (
        <main className="mail-pane" id="reports-main" tabIndex={-1}>
          <ReportsView />
        </main>
      );
    default:
      return assertNever(area, 'work area');
  }
}
