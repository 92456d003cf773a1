import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Assignee } from '../../../shared/api.js';
import type { Incident } from '../../../shared/domain.js';
import type { CachedContact } from '../../../shared/ipc.js';
import { mayEditIncidents } from '../../../shared/permissions.js';
import type { AppError, Result } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { useCustomerStore } from '../stores/customer.js';
import { useSessionStore } from '../stores/session.js';
import { ErrorText } from './ErrorText.js';

interface IncidentActionsProps {
  customer: { id: string; classification: 1 | 2 | 3; branch: string | null };
  incidents: Incident[];
  /** The incident chosen in the tree (or the newest). */
  incident: Incident | undefined;
  /** The contact chosen in the tree, if one is. */
  contact: CachedContact | undefined;
  onCreated(incidentId: string): void;
}

/**
 * What an operator does to a customer's incidents outside a wrap-up: open one, rename, close,
 * reopen, reassign, and move the chosen contact into another incident. Each goes through the
 * outbox (works offline) and shows at once; shown only to users the shared rule allows.
 */
export function IncidentActions({ customer, incidents, incident, contact, onCreated }: IncidentActionsProps) {
  const { t } = useTranslation();
  const user = useSessionStore((s) => s.session?.user);
  const [newTitle, setNewTitle] = useState('');
  const [assignees, setAssignees] = useState<Assignee[]>([]);
  const [moveTo, setMoveTo] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [done, setDone] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    void invoke('customers:assignees', { customerId: customer.id }).then((result) => {
      if (live && result.ok) setAssignees(result.value);
    });
    return () => {
      live = false;
    };
  }, [customer.id]);

  if (!user || !mayEditIncidents(user, customer)) return null;

  async function run<T>(work: Promise<Result<T>>, message: string): Promise<Result<T>> {
    setError(null);
    setDone(null);
    const result = await work;
    if (!result.ok) setError(result.error);
    else {
      setDone(message);
      await useCustomerStore.getState().refresh();
    }
    return result;
  }

  const others = incidents.filter((other) => other.id !== contact?.incidentId);

  return (
    <section className="incident-actions" aria-labelledby="incident-actions-heading" data-testid="incident-actions">
      <h3 id="incident-actions-heading">{t('incidentActions.heading')}</h3>
      {incident && (
        <CurrentIncident key={`${incident.id}:${incident.title}:${incident.assigneeId ?? ''}`} incident={incident} assignees={assignees} run={run} />
      )}
      {contact && others.length > 0 && (
        <form
          className="inline-form"
          data-testid="move-contact"
          onSubmit={(event: FormEvent) => {
            event.preventDefault();
            const target = others.find((other) => other.id === (moveTo || others[0]?.id));
            if (target) void run(invoke('contacts:move', { contactId: contact.id, incidentId: target.id }), t('incidentActions.moved', { title: target.title }));
          }}
        >
          <label>
            {t('incidentActions.moveContact')}
            <select value={moveTo || others[0]?.id} onChange={(e) => setMoveTo(e.target.value)}>
              {others.map((other) => (
                <option key={other.id} value={other.id}>
                  {other.title}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={contact.pending}>
            {t('incidentActions.move')}
          </button>
        </form>
      )}
      <form
        className="inline-form"
        data-testid="new-incident"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          if (newTitle.trim() === '') return;
          void run(invoke('incidents:create', { customerId: customer.id, title: newTitle.trim(), assigneeId: user.id }), t('incidentActions.saved')).then((result) => {
            if (result.ok) {
              setNewTitle('');
              onCreated(result.value.id);
            }
          });
        }}
      >
        <label>
          {t('incidentActions.newTitle')}
          <input value={newTitle} maxLength={300} onChange={(e) => setNewTitle(e.target.value)} />
        </label>
        <button type="submit">{t('incidentActions.create')}</button>
      </form>
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
      {done && (
        <p className="hint" role="status" data-testid="incident-actions-done">
          {done}
        </p>
      )}
    </section>
  );
}

/** Rename, close or reopen, reassign the chosen incident; keyed by its state so the fields start from it. */
function CurrentIncident({
  incident,
  assignees,
  run,
}: {
  incident: Incident;
  assignees: Assignee[];
  run: (work: Promise<Result<Incident>>, message: string) => Promise<Result<Incident>>;
}) {
  const { t } = useTranslation();
  const [title, setTitle] = useState(incident.title);
  const [assigneeId, setAssigneeId] = useState(incident.assigneeId ?? '');
  const saved = t('incidentActions.saved');
  return (
    <div className="incident-actions-current" data-testid="incident-actions-current" data-incident-id={incident.id}>
          <p className="hint">{t('incidentActions.for', { title: incident.title })}</p>
          <form
            className="inline-form"
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              if (title.trim() !== '' && title.trim() !== incident.title) {
                void run(invoke('incidents:update', { incidentId: incident.id, title: title.trim() }), saved);
              }
            }}
          >
            <label>
              {t('incidentActions.titleLabel')}
              <input value={title} maxLength={300} onChange={(e) => setTitle(e.target.value)} />
            </label>
            <button type="submit">{t('incidentActions.rename')}</button>
          </form>
          <button
            type="button"
            onClick={() =>
              void run(invoke('incidents:update', { incidentId: incident.id, status: incident.status === 'open' ? 'closed' : 'open' }), saved)
            }
          >
            {incident.status === 'open' ? t('incidentActions.close') : t('incidentActions.reopen')}
          </button>
          <form
            className="inline-form"
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              const next = assigneeId === '' ? null : assigneeId;
              if (next !== incident.assigneeId) void run(invoke('incidents:update', { incidentId: incident.id, assigneeId: next }), saved);
            }}
          >
            <label>
              {t('incidentActions.assignee')}
              <select value={assigneeId} onChange={(e) => setAssigneeId(e.target.value)}>
                <option value="">{t('incidentActions.nobody')}</option>
                {assignees.map((assignee) => (
                  <option key={assignee.id} value={assignee.id}>
                    {assignee.displayName}
                  </option>
                ))}
                {incident.assigneeId && !assignees.some((a) => a.id === incident.assigneeId) && (
                  <option value={incident.assigneeId}>{incident.assigneeName ?? incident.assigneeId}</option>
                )}
              </select>
            </label>
            <button type="submit">{t('incidentActions.assign')}</button>
          </form>
        </div>
  );
}
