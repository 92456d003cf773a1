import { useTranslation } from 'react-i18next';
import type { MailView } from '../../../../shared/api.js';
import { formatDateTime } from '../../format.js';
import { useCustomerStore } from '../../stores/customer.js';
import { useUiStore } from '../../stores/ui.js';
import { useWorkAreaStore } from '../stores/work-area.js';

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Who wrote, when, about what, and where it was filed; attachments are listed, never opened. */
export function MailHeaders({ mail, headingLevel = 3 }: { mail: MailView; headingLevel?: 2 | 3 }) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const Heading = headingLevel === 2 ? 'h2' : 'h3';

  function openCustomer() {
    void useCustomerStore.getState().select(mail.customerId);
    useWorkAreaStore.getState().show('customers');
  }

  return (
    <header className="mail-headers">
      <Heading className="mail-subject" data-testid="mail-subject">
        {mail.subject || t('mail.headers.noSubject')}
      </Heading>
      <dl className="attributes">
        <dt>{t('mail.headers.from')}</dt>
        <dd data-testid="mail-from">
          {mail.fromName ? `${mail.fromName} <${mail.fromAddress}>` : mail.fromAddress}
        </dd>
        <dt>{t('mail.headers.to')}</dt>
        <dd>{(mail.to.length > 0 ? mail.to : [mail.recipientAddress]).join(', ')}</dd>
        {mail.cc.length > 0 && (
          <>
            <dt>{t('mail.headers.cc')}</dt>
            <dd>{mail.cc.join(', ')}</dd>
          </>
        )}
        <dt>{t('mail.headers.received')}</dt>
        <dd>
          <time dateTime={mail.receivedAt}>{formatDateTime(mail.receivedAt, language)}</time>
        </dd>
        <dt>{t('mail.headers.customer')}</dt>
        <dd>
          <button type="button" className="link-like" onClick={openCustomer} data-testid="open-customer">
            {mail.customerName}
          </button>
        </dd>
        <dt>{t('mail.headers.incident')}</dt>
        <dd data-testid="mail-incident">
          {mail.incidentRef ? `${mail.incidentRef} · ` : ''}
          {mail.incidentTitle}
        </dd>
        {mail.attachments.length > 0 && (
          <>
            <dt>{t('mail.headers.attachments')}</dt>
            <dd>
              <ul className="plain-list">
                {mail.attachments.map((attachment) => (
                  <li key={attachment.id}>
                    {attachment.filename} ({attachment.contentType}, {formatSize(attachment.size)})
                    {attachment.rejected && <span className="muted"> — {t(`mail.headers.rejected.${attachment.rejected}`)}</span>}
                  </li>
                ))}
              </ul>
              <p className="hint">{t('mail.headers.attachmentsHint')}</p>
            </dd>
          </>
        )}
      </dl>
    </header>
  );
}
