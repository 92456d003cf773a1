import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CallbackListView } from '../../../shared/ipc.js';
import { ErrorText } from '../components/ErrorText.js';
import { formatDateTime } from '../format.js';
import { CallBackButton, openCustomer, useDisplayNumber } from '../history/CallHistory.js';
import { useCallHistoryStore } from '../history/store.js';
import { useUiStore } from '../stores/ui.js';
import { isOverdue } from './due-time.js';
import { useCallbackWorklistStore } from './store.js';

type Task = CallbackListView['mine'][number] | CallbackListView['teamOverdue'][number];

/** Tasks become overdue while the list is on screen, and other operators' calls close them. */
const REFRESH_MS = 30_000;

function useWorklist(): { view: CallbackListView | null; now: number } {
  const view = useCallbackWorklistStore((s) => s.view);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    void useCallbackWorklistStore.getState().load();
    const timer = setInterval(() => {
      setNow(Date.now());
      void useCallbackWorklistStore.getState().load();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  return { view, now };
}

/**
 * The operator's callback worklist: their own open callbacks, soonest due first, overdue ones
 * highlighted; below, the overdue callbacks of their team. Calling from a task dials the number
 * with the customer attached; the logged call (the wrap-up) closes the task on the backend.
 */
export function CallbackWorklist() {
  const { t } = useTranslation();
  const { view, now } = useWorklist();
  const error = useCallbackWorklistStore((s) => s.error);
  const mine = view?.mine ?? [];
  const team = view?.teamOverdue ?? [];
  return (
    <section className="callback-worklist" data-testid="callback-worklist" aria-labelledby="callbacks-heading">
      <h3 id="callbacks-heading">{t('callbacks.mine', { count: mine.length })}</h3>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {view?.source === 'cache' && <p className="source-note">{t('callbacks.fromCache')}</p>}
      {mine.length === 0 ? (
        <p className="muted">{t('callbacks.none')}</p>
      ) : (
        <ul className="history-list">
          {mine.map((task) => (
            <TaskRow key={task.id} task={task} now={now} showFlaggedBy={false} />
          ))}
        </ul>
      )}
      {team.length > 0 && <TeamOverdue tasks={team} now={now} headingId="team-callbacks-heading" heading={t('callbacks.teamOverdue', { count: team.length })} />}
    </section>
  );
}

/** The supervisor's live view: every overdue callback of the tenant they may see. */
export function OverdueCallbacks() {
  const { t } = useTranslation();
  const { view, now } = useWorklist();
  const team = view?.teamOverdue ?? [];
  const heading = t('callbacks.overdueAll', { count: team.length });
  if (team.length === 0) {
    return (
      <section aria-labelledby="overdue-callbacks-heading" data-testid="overdue-callbacks">
        <h3 id="overdue-callbacks-heading">{heading}</h3>
        <p className="muted">{t('callbacks.noneOverdue')}</p>
      </section>
    );
  }
  return <TeamOverdue tasks={team} now={now} headingId="overdue-callbacks-heading" heading={heading} />;
}

function TeamOverdue({ tasks, now, headingId, heading }: { tasks: Task[]; now: number; headingId: string; heading: string }) {
  return (
    <section aria-labelledby={headingId} data-testid="overdue-callbacks">
      <h3 id={headingId}>{heading}</h3>
      <ul className="history-list">
        {tasks.map((task) => (
          <TaskRow key={task.id} task={task} now={now} showFlaggedBy />
        ))}
      </ul>
    </section>
  );
}

function TaskRow({ task, now, showFlaggedBy }: { task: Task; now: number; showFlaggedBy: boolean }) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const displayNumber = useDisplayNumber();
  const complete = useCallbackWorklistStore((s) => s.complete);
  const overdue = isOverdue(task, now);
  const due = task.dueAt ?? task.flaggedAt;
  return (
    <li
      className={`history-entry callback-entry${overdue ? ' is-overdue' : ''}`}
      data-testid="callback-task"
      data-callback-id={task.id}
      data-overdue={overdue}
    >
      <span className="history-who">
        <button type="button" className="link-like" onClick={() => openCustomer(task.customerId)}>
          {task.customerName}
        </button>
      </span>
      <span className="muted">{displayNumber(task.remote)}</span>
      <span>
        {t('callbacks.due')} <time dateTime={due}>{formatDateTime(due, language)}</time>
      </span>
      {overdue && <span className="outcome-tag is-missed">{t('callbacks.overdue')}</span>}
      {showFlaggedBy && <span className="muted">{t('callbacks.flaggedBy', { name: task.flaggedByName })}</span>}
      {'pending' in task && task.pending && <span className="pending-badge">{t('contact.pending')}</span>}
      <CallBackButton remote={task.remote} customerId={task.customerId} label={task.customerName} />
      <button
        type="button"
        className="quiet"
        onClick={() => void complete(task.id).then(() => useCallHistoryStore.getState().refresh())}
      >
        {t('history.markDone')}
      </button>
    </li>
  );
}
