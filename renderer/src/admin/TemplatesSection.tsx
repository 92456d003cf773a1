import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { MailTemplateInput, TEMPLATE_PLACEHOLDERS, type MailTemplate } from '../../../shared/api.js';
import { CALLBACK_PLACEHOLDERS, CallbackTemplateInput } from '../../../shared/calls-for-you.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import { fillPlaceholders, unknownPlaceholders } from '../mail/template.js';
import { FieldError, fieldAria } from './FieldError.js';
import { checkForm, fieldErrorsFromError, type FieldErrors } from './field-errors.js';

/** Sample values the preview fills in, in the user's language (admin.templates.sample.*). */
type PlaceholderName = (typeof TEMPLATE_PLACEHOLDERS)[number] | (typeof CALLBACK_PLACEHOLDERS)[number];
function useSamples(names: readonly PlaceholderName[]): Record<string, string> {
  const { t } = useTranslation();
  return Object.fromEntries(names.map((name) => [name, t(`admin.templates.sample.${name}`)]));
}

/** Known placeholders only: the form names the field that uses another, as the backend would. */
function placeholderErrors(fields: Record<string, string>, known: readonly string[], message: (names: string) => string): FieldErrors {
  const errors: FieldErrors = {};
  for (const [field, text] of Object.entries(fields)) {
    const unknown = unknownPlaceholders(text, known);
    if (unknown.length > 0) errors[field] = message(unknown.map((name) => `{{${name}}}`).join(' '));
  }
  return errors;
}

function TemplatePreview({ subject, body, samples }: { subject: string; body: string; samples: Record<string, string> }) {
  const { t } = useTranslation();
  return (
    <figure className="template-preview" data-testid="template-preview">
      <figcaption>{t('admin.templates.preview')}</figcaption>
      {subject.trim() !== '' && <p className="template-preview-subject">{fillPlaceholders(subject, samples)}</p>}
      <pre className="template-preview-body">{fillPlaceholders(body, samples)}</pre>
    </figure>
  );
}

/** Mail reply templates and the callback text template, each with a live preview of its placeholders. */
export function TemplatesSection() {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="admin-templates-heading" data-testid="admin-templates">
      <h3 id="admin-templates-heading">{t('admin.templates.heading')}</h3>
      <MailTemplates />
      <CallbackTemplate />
    </section>
  );
}

function MailTemplates() {
  const { t } = useTranslation();
  const [templates, setTemplates] = useState<MailTemplate[] | null>(null);
  const [editing, setEditing] = useState<MailTemplate | 'new' | null>(null);
  const [problem, setProblem] = useState<AppError | null>(null);

  const load = () =>
    invoke('mail:templates', undefined).then((result) => {
      if (result.ok) setTemplates(result.value);
      else setProblem(result.error);
    });
  useEffect(() => {
    void invoke('mail:templates', undefined).then((result) => (result.ok ? setTemplates(result.value) : setProblem(result.error)));
  }, []);

  async function remove(template: MailTemplate) {
    const result = await invoke('admin:deleteMailTemplate', { id: template.id });
    if (!result.ok) return setProblem(result.error);
    setEditing(null);
    await load();
  }

  return (
    <div data-testid="admin-mail-templates">
      <h4>{t('admin.templates.mail')}</h4>
      <ul className="admin-list">
        {templates?.map((template) => (
          <li key={template.id} data-testid="admin-mail-template" data-template-id={template.id}>
            <span>{template.name}</span>
            <button type="button" onClick={() => setEditing(template)} aria-label={t('admin.templates.editNamed', { name: template.name })}>
              {t('admin.templates.edit')}
            </button>
            <button type="button" className="quiet" onClick={() => void remove(template)} aria-label={t('admin.templates.deleteNamed', { name: template.name })}>
              {t('admin.templates.delete')}
            </button>
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => setEditing('new')}>
        {t('admin.templates.new')}
      </button>
      {problem && (
        <p className="error" role="alert">
          <ErrorText error={problem} />
        </p>
      )}
      {editing && (
        <MailTemplateForm
          key={editing === 'new' ? 'new' : editing.id}
          template={editing === 'new' ? null : editing}
          onSaved={() => {
            setEditing(null);
            void load();
          }}
        />
      )}
    </div>
  );
}

function MailTemplateForm({ template, onSaved }: { template: MailTemplate | null; onSaved(): void }) {
  const { t } = useTranslation();
  const id = useId();
  const samples = useSamples(TEMPLATE_PLACEHOLDERS);
  const [name, setName] = useState(template?.name ?? '');
  const [subject, setSubject] = useState(template?.subject ?? '');
  const [body, setBody] = useState(template?.body ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const checked = checkForm(MailTemplateInput, { name, subject, body });
    const unknown = placeholderErrors({ subject, body }, TEMPLATE_PLACEHOLDERS, (names) => t('admin.templates.unknownPlaceholder', { names }));
    if (!checked.ok || Object.keys(unknown).length > 0) return setErrors({ ...unknown, ...(checked.ok ? {} : checked.errors) });
    setErrors({});
    const result = await invoke('admin:saveMailTemplate', { id: template?.id ?? null, template: checked.value });
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    onSaved();
  }

  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate data-testid="admin-mail-template-form">
      <h5 id={`${id}-heading`}>{template ? t('admin.templates.editing', { name: template.name }) : t('admin.templates.new')}</h5>
      <p className="hint">{t('admin.templates.placeholders', { list: TEMPLATE_PLACEHOLDERS.map((p) => `{{${p}}}`).join(' ') })}</p>
      <label>
        {t('admin.templates.name')}
        <input value={name} onChange={(e) => setName(e.target.value)} {...fieldAria(`${id}-n`, errors, 'name')} />
      </label>
      <FieldError id={`${id}-n`} errors={errors} field="name" />
      <label>
        {t('admin.templates.subject')}
        <input value={subject} onChange={(e) => setSubject(e.target.value)} {...fieldAria(`${id}-s`, errors, 'subject')} />
      </label>
      <FieldError id={`${id}-s`} errors={errors} field="subject" />
      <label>
        {t('admin.templates.body')}
        <textarea rows={8} value={body} onChange={(e) => setBody(e.target.value)} {...fieldAria(`${id}-b`, errors, 'body')} />
      </label>
      <FieldError id={`${id}-b`} errors={errors} field="body" />
      <TemplatePreview subject={subject} body={body} samples={samples} />
      <div className="form-actions">
        <button type="submit" className="primary">
          {t('admin.templates.save')}
        </button>
      </div>
      {problem && (
        <p className="error" role="alert">
          <ErrorText error={problem} />
        </p>
      )}
    </form>
  );
}

function CallbackTemplate() {
  const { t } = useTranslation();
  const id = useId();
  const samples = useSamples(CALLBACK_PLACEHOLDERS);
  const [loaded, setLoaded] = useState(false);
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [problem, setProblem] = useState<AppError | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    void invoke('callsForYou:template', undefined).then((result) => {
      if (!result.ok) return setProblem(result.error);
      setSubject(result.value.subject);
      setBody(result.value.body);
      setLoaded(true);
    });
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const checked = checkForm(CallbackTemplateInput, { subject, body });
    const unknown = placeholderErrors({ subject, body }, CALLBACK_PLACEHOLDERS, (names) => t('admin.templates.unknownPlaceholder', { names }));
    if (!checked.ok || Object.keys(unknown).length > 0) return setErrors({ ...unknown, ...(checked.ok ? {} : checked.errors) });
    setErrors({});
    const result = await invoke('callsForYou:saveTemplate', checked.value);
    if (!result.ok) {
      setErrors(fieldErrorsFromError(result.error));
      return setProblem(result.error);
    }
    setProblem(null);
    setSaved(true);
  }

  return (
    <form className="admin-form" aria-labelledby={`${id}-heading`} onSubmit={(e) => void submit(e)} noValidate data-testid="admin-callback-template">
      <h4 id={`${id}-heading`}>{t('admin.templates.callback')}</h4>
      {loaded && (
        <>
          <p className="hint">{t('admin.templates.placeholders', { list: CALLBACK_PLACEHOLDERS.map((p) => `{{${p}}}`).join(' ') })}</p>
          <label>
            {t('admin.templates.subject')}
            <input value={subject} onChange={(e) => setSubject(e.target.value)} {...fieldAria(`${id}-s`, errors, 'subject')} />
          </label>
          <FieldError id={`${id}-s`} errors={errors} field="subject" />
          <label>
            {t('admin.templates.body')}
            <textarea rows={8} value={body} onChange={(e) => setBody(e.target.value)} {...fieldAria(`${id}-b`, errors, 'body')} />
          </label>
          <FieldError id={`${id}-b`} errors={errors} field="body" />
          <TemplatePreview subject={subject} body={body} samples={samples} />
          <div className="form-actions">
            <button type="submit" className="primary">
              {t('admin.templates.save')}
            </button>
            {saved && <span role="status">{t('admin.saved')}</span>}
          </div>
        </>
      )}
      {problem && (
        <p className="error" role="alert">
          <ErrorText error={problem} />
        </p>
      )}
    </form>
  );
}
