import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { CallbackTemplateResponse } from '../../../shared/calls-for-you.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';

/** Admins edit the tenant's callback text template (the backend refuses everyone else). */
export function TemplateEditor() {
  const { t } = useTranslation();
  const id = useId();
  const [template, setTemplate] = useState<CallbackTemplateResponse | null>(null);
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const [error, setError] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    void invoke('callsForYou:template', undefined).then((result) => {
      if (!result.ok) return setError(result.error);
      setTemplate(result.value);
      setSubject(result.value.subject);
      setBody(result.value.body);
    });
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const result = await invoke('callsForYou:saveTemplate', { subject, body });
    if (!result.ok) return setError(result.error);
    setError(null);
    setTemplate(result.value);
    setSaved(true);
  }

  return (
    <details className="cfy-template" data-testid="cfy-template-editor">
      <summary>{t('callsForYou.template.heading')}</summary>
      {template && (
        <form onSubmit={(e) => void submit(e)}>
          <p>{t('callsForYou.template.placeholders', { list: template.placeholders.map((name) => `{{${name}}}`).join(' ') })}</p>
          <label htmlFor={`${id}-subject`}>{t('callsForYou.template.subject')}</label>
          <input id={`${id}-subject`} maxLength={300} value={subject} onChange={(e) => setSubject(e.target.value)} />
          <label htmlFor={`${id}-body`}>{t('callsForYou.template.body')}</label>
          <textarea id={`${id}-body`} required rows={8} maxLength={10_000} value={body} onChange={(e) => setBody(e.target.value)} />
          <div className="form-actions">
            <button type="submit" className="primary">
              {t('callsForYou.template.save')}
            </button>
            {saved && <span role="status">{t('callsForYou.template.saved')}</span>}
          </div>
        </form>
      )}
      {error && (
        <p className="error" role="alert">
          <ErrorText error={error} />
        </p>
      )}
    </details>
  );
}
