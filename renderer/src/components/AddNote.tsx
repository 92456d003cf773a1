import { useCallback, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Incident } from '../../../shared/domain.js';
import type { AppError } from '../../../shared/result.js';
import { useCustomerStore } from '../stores/customer.js';
import { useSyncStore } from '../stores/sync.js';
import { DeliveryNotice, type DeliveryPhase } from './DeliveryNotice.js';
import { ErrorText } from './ErrorText.js';

interface AddNoteProps {
  incident: Incident;
  onSaved(incidentId: string, contactId: string): void;
}

/**
 * The core writes the note to its outbox first, so saving works offline; the tree then shows
 * it as pending until the outbox has been pushed.
 */
export function AddNote({ incident, onSaved }: AddNoteProps) {
  const { t } = useTranslation();
  const addNote = useCustomerStore((s) => s.addNote);
  const loadSyncStatus = useSyncStore((s) => s.load);
  const [body, setBody] = useState('');
  const [saving, setSaving] = useState(false);
  const [outcome, setOutcome] = useState<{ kind: 'saved'; clientId: string } | { kind: 'failed'; error: AppError } | null>(null);
  const clearOutcome = useCallback(() => setOutcome(null), []);
  const deliveryMessage = useCallback(
    (phase: DeliveryPhase, error: string | null) => t(`note.delivery.${phase}`, { error: error ?? '' }),
    [t],
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!body.trim() || saving) return;
    setSaving(true);
    setOutcome(null);
    const result = await addNote(incident.id, body);
    setSaving(false);
    if (!result.ok) {
      setOutcome({ kind: 'failed', error: result.error });
      return;
    }
    setBody('');
    setOutcome({ kind: 'saved', clientId: result.value.id });
    onSaved(incident.id, result.value.id);
    void loadSyncStatus();
  }

  return (
    <form className="add-note" onSubmit={(e) => void submit(e)} aria-labelledby="add-note-heading" data-testid="add-note">
      <h3 id="add-note-heading">{t('note.heading')}</h3>
      <p className="add-note-target">
        {t('note.target')} <strong data-testid="note-target">{incident.title}</strong>
      </p>
      <label htmlFor="note-body">{t('note.label')}</label>
      <textarea
        id="note-body"
        rows={4}
        maxLength={20_000}
        value={body}
        onChange={(e) => {
          setBody(e.target.value);
          // A new note is being written: the last one's confirmation has been read.
          if (outcome?.kind === 'saved') setOutcome(null);
        }}
        aria-describedby="note-hint"
      />
      <p id="note-hint" className="hint">
        {t('note.hint')}
      </p>
      <div className="add-note-actions">
        <button type="submit" className="primary" disabled={saving || !body.trim()}>
          {saving ? t('note.saving') : t('note.save')}
        </button>
        <span role="status" className="add-note-outcome">
          {outcome?.kind === 'saved' && <DeliveryNotice clientId={outcome.clientId} message={deliveryMessage} onDone={clearOutcome} />}
        </span>
      </div>
      {outcome?.kind === 'failed' && (
        <p className="error" role="alert">
          <ErrorText error={outcome.error} />
        </p>
      )}
    </form>
  );
}
