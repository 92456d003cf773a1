import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Incident } from '../../../shared/domain.js';
import type { AppError } from '../../../shared/result.js';
import { useCustomerStore } from '../stores/customer.js';
import { useSyncStore } from '../stores/sync.js';
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
  const [outcome, setOutcome] = useState<{ kind: 'saved'; pending: boolean } | { kind: 'failed'; error: AppError } | null>(null);

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
    setOutcome({ kind: 'saved', pending: result.value.pending });
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
        onChange={(e) => setBody(e.target.value)}
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
          {outcome?.kind === 'saved' && (outcome.pending ? t('note.savedPending') : t('note.saved'))}
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
