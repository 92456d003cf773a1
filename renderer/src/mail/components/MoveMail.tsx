import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { MailView } from '../../../../shared/api.js';
import type { Incident } from '../../../../shared/domain.js';
import type { AppError } from '../../../../shared/result.js';
import { invoke } from '../../api.js';
import { ErrorText } from '../../components/ErrorText.js';
import { useMailDeskStore } from '../stores/desk.js';

/**
 * Moves the offered mail into another incident of its customer (the threading guessed wrong).
 * The mail's contact moves through the outbox; once the backend has it, the mail is read again
 * so its incident, reference token and later reply follow.
 */
export function MoveMail({ mail }: { mail: MailView }) {
  const { t } = useTranslation();
  const [incidents, setIncidents] = useState<Incident[]>([]);
  const [target, setTarget] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [moved, setMoved] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    void invoke('customers:get', { customerId: mail.customerId }).then((result) => {
      if (live && result.ok) setIncidents(result.value.incidents);
    });
    return () => {
      live = false;
    };
  }, [mail.customerId, mail.incidentId]);

  const others = incidents.filter((incident) => incident.id !== mail.incidentId);
  if (others.length === 0) return null;
  const chosen = others.find((incident) => incident.id === target) ?? others[0]!;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const result = await invoke('contacts:move', { contactId: mail.contactId, incidentId: chosen.id });
    if (!result.ok) {
      setError(result.error);
      return;
    }
    setMoved(chosen.title);
    useMailDeskStore.setState({ mail: { ...mail, incidentId: chosen.id, incidentTitle: chosen.title, incidentRef: null } });
    await invoke('sync:now', undefined);
    const fresh = await invoke('mail:get', { mailId: mail.id });
    if (fresh.ok && useMailDeskStore.getState().mail?.id === mail.id) useMailDeskStore.setState({ mail: fresh.value });
  }

  return (
    <form className="inline-form move-mail" data-testid="move-mail" onSubmit={(e) => void submit(e)}>
      <label>
        {t('mail.move.label')}
        <select value={chosen.id} onChange={(e) => setTarget(e.target.value)}>
          {others.map((incident) => (
            <option key={incident.id} value={incident.id}>
              {incident.title}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">{t('mail.move.button')}</button>
      {moved && (
        <span role="status" className="hint">
          {t('mail.move.moved', { title: moved })}
        </span>
      )}
      {error && (
        <span className="error" role="alert">
          <ErrorText error={error} />
        </span>
      )}
    </form>
  );
}
