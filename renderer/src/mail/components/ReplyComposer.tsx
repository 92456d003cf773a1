import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { MailView, ReplyView } from '../../../../shared/api.js';
import type { AppError } from '../../../../shared/result.js';
import { invoke } from '../../api.js';
import { ErrorText } from '../../components/ErrorText.js';
import { useSessionStore } from '../../stores/session.js';
import { useTemplateStore } from '../stores/templates.js';
import { applyTemplate } from '../template.js';

export interface ReplyComposerProps {
  replyId: string;
  /** The customer's mail: the placeholders' values, and the mail a new draft answers. */
  mail: MailView;
  initialSubject: string;
  initialBody: string;
  /** The recipient the backend has for this reply; omitted: the customer's known address (see defaultRecipient). */
  initialTo?: string;
  /** The backend already has this reply (a saved draft, a returned reply). */
  existing: boolean;
  submitLabel?: string;
  onSubmitted(reply: ReplyView): void;
}

type ComposerStatus =
  | { kind: 'idle' }
  | { kind: 'busy'; action: 'save' | 'submit' }
  | { kind: 'saved' }
  | { kind: 'savedLocally'; submitting: boolean }
  | { kind: 'error'; error: AppError };

/**
 * Writes a reply: a template fills the body (customer name, incident reference and operator
 * name put in), "save draft" keeps it (on this computer when offline), "submit" sends it to
 * the review queue. Nothing leaves for the customer from here.
 */
/**
 * Where a reply goes unless the author chooses otherwise, as the backend decides it: the
 * sender's address when it is one of the customer's, else the customer's first address.
 */
export function defaultRecipient(mail: Pick<MailView, 'fromAddress' | 'senderKnown' | 'customerEmails'>): string {
  return mail.senderKnown ? mail.fromAddress : (mail.customerEmails[0] ?? mail.fromAddress);
}

function isKnownAddress(mail: Pick<MailView, 'customerEmails'>, address: string): boolean {
  const wanted = address.trim().toLowerCase();
  return mail.customerEmails.some((email) => email.toLowerCase() === wanted);
}

const OTHER_ADDRESS = '';

export function ReplyComposer({ replyId, mail, initialSubject, initialBody, initialTo, existing, submitLabel, onSubmitted }: ReplyComposerProps) {
  const { t } = useTranslation();
  const formId = useId();
  const operatorName = useSessionStore((s) => s.session?.user.displayName ?? '');
  const templates = useTemplateStore((s) => s.templates);
  const templatesLoaded = useTemplateStore((s) => s.loaded);
  const [subject, setSubject] = useState(initialSubject);
  const [body, setBody] = useState(initialBody);
  const [templateId, setTemplateId] = useState('');
  const [toAddress, setToAddress] = useState(initialTo ?? defaultRecipient(mail));
  const choices = [...new Set([...mail.customerEmails, ...(mail.replyTo ? [mail.replyTo] : []), mail.fromAddress].map((a) => a.toLowerCase()))];
  const [typing, setTyping] = useState(() => !choices.includes(toAddress.toLowerCase()));
  const recipientKnown = isKnownAddress(mail, toAddress);
  const [savedOnce, setSavedOnce] = useState(existing);
  const [status, setStatus] = useState<ComposerStatus>({ kind: 'idle' });

  // Each reply starts from the templates as they are now: an admin may have changed them since
  // the last one (the store offers none until the fresh list is in).
  useEffect(() => {
    void useTemplateStore.getState().load();
  }, []);

  function chooseTemplate(id: string) {
    setTemplateId(id);
    const template = templates.find((candidate) => candidate.id === id);
    if (!template) return;
    const filled = applyTemplate(template, { customerName: mail.customerName, incidentRef: mail.incidentRef ?? '', operatorName });
    setBody(filled.body);
    if (filled.subject) setSubject(filled.subject);
  }

  /** Saves what is on screen; true when the backend has it (not only this computer). */
  async function save(action: 'save' | 'submit'): Promise<boolean> {
    setStatus({ kind: 'busy', action });
    const result = await invoke('reply:save', {
      replyId,
      ...(savedOnce ? {} : { mailId: mail.id }),
      ...(subject.trim() ? { subject: subject.trim() } : {}),
      body,
      ...(templateId ? { templateId } : {}),
      toAddress: toAddress.trim(),
    });
    if (!result.ok) {
      setStatus({ kind: 'error', error: result.error });
      return false;
    }
    if (result.value.reply) {
      setSavedOnce(true);
      setSubject(result.value.reply.subject);
      setStatus({ kind: 'saved' });
      return true;
    }
    setStatus({ kind: 'savedLocally', submitting: action === 'submit' });
    return false;
  }

  async function submit() {
    if (body.trim() === '') {
      setStatus({ kind: 'error', error: { code: 'invalid_input', message: t('mail.composer.emptyBody') } });
      return;
    }
    if (!(await save('submit'))) return;
    setStatus({ kind: 'busy', action: 'submit' });
    const result = await invoke('reply:submit', { replyId });
    if (result.ok) onSubmitted(result.value);
    else setStatus({ kind: 'error', error: result.error });
  }

  const busy = status.kind === 'busy';
  return (
    <form
      className="reply-composer"
      aria-labelledby={`${formId}-heading`}
      data-testid="reply-composer"
      data-status={status.kind}
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <h3 id={`${formId}-heading`}>{t('mail.composer.heading')}</h3>
      <div className="field">
        <label htmlFor={`${formId}-template`}>{t('mail.composer.template')}</label>
        <select id={`${formId}-template`} value={templateId} onChange={(event) => chooseTemplate(event.target.value)} disabled={busy}>
          <option value="">{templatesLoaded ? t('mail.composer.noTemplate') : t('mail.composer.loadingTemplates')}</option>
          {templates.map((template) => (
            <option key={template.id} value={template.id}>
              {template.name}
            </option>
          ))}
        </select>
        <p className="hint">{t('mail.composer.templateHint')}</p>
      </div>
      <div className="field">
        <label htmlFor={`${formId}-to`}>{t('mail.composer.to')}</label>
        <select
          id={`${formId}-to`}
          value={typing ? OTHER_ADDRESS : toAddress.toLowerCase()}
          disabled={busy}
          data-testid="composer-to"
          onChange={(event) => {
            const value = event.target.value;
            setTyping(value === OTHER_ADDRESS);
            if (value !== OTHER_ADDRESS) setToAddress(value);
          }}
        >
          {choices.map((address) => (
            <option key={address} value={address}>
              {isKnownAddress(mail, address)
                ? t('mail.composer.toKnown', { address })
                : address === mail.replyTo?.toLowerCase()
                  ? t('mail.composer.toReplyTo', { address })
                  : t('mail.composer.toSender', { address })}
            </option>
          ))}
          <option value={OTHER_ADDRESS}>{t('mail.composer.toOther')}</option>
        </select>
        {typing && (
          <input
            type="email"
            aria-label={t('mail.composer.toTyped')}
            value={toAddress}
            maxLength={320}
            data-testid="composer-to-typed"
            onChange={(event) => setToAddress(event.target.value)}
          />
        )}
        {!recipientKnown && (
          <p className="warning" role="alert" data-testid="composer-recipient-warning">
            {t('mail.composer.unknownRecipient', { address: toAddress.trim(), customer: mail.customerName })}
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor={`${formId}-subject`}>{t('mail.composer.subject')}</label>
        <input id={`${formId}-subject`} type="text" value={subject} maxLength={300} onChange={(event) => setSubject(event.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${formId}-body`}>{t('mail.composer.body')}</label>
        <textarea id={`${formId}-body`} rows={12} value={body} maxLength={20_000} onChange={(event) => setBody(event.target.value)} />
      </div>
      <div className="composer-actions">
        <button type="button" disabled={busy} onClick={() => void save('save')}>
          {status.kind === 'busy' && status.action === 'save' ? t('mail.composer.saving') : t('mail.composer.save')}
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {status.kind === 'busy' && status.action === 'submit' ? t('mail.composer.submitting') : (submitLabel ?? t('mail.composer.submit'))}
        </button>
      </div>
      <p className="composer-status" role="status" data-testid="composer-status">
        {status.kind === 'saved' && t('mail.composer.saved')}
        {status.kind === 'savedLocally' && (status.submitting ? t('mail.composer.submitNeedsConnection') : t('mail.composer.savedLocally'))}
      </p>
      {status.kind === 'error' && (
        <p className="error" role="alert" data-testid="composer-error">
          <ErrorText error={status.error} />
        </p>
      )}
    </form>
  );
}
