import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { MailView } from '../../../../shared/api.js';
import { safeAttachmentName } from '../../../../shared/mail-content.js';
import { formatDateTime } from '../../format.js';
import { useCustomerStore } from '../../stores/customer.js';
import { useUiStore } from '../../stores/ui.js';
import { useWorkAreaStore } from '../stores/work-area.js';

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * Whether the mail's sender and the customer it is filed under may be different people: the
 * sender's address is not the customer's, or is another customer's, or the mail still waits
 * to be matched. The operator is told, and opening the customer's record asks first.
 */
export function senderMismatch(mail: Pick<MailView, 'senderKnown' | 'senderCustomers' | 'matchState'>): boolean {
  return !mail.senderKnown || mail.senderCustomers.length > 0 || mail.matchState === 'needs_matching';
}

/**
 * Who wrote, when, about what, and where it was filed; attachments are listed, never opened.
 * With `onDownload` each kept attachment is a button that saves it as a file.
 */
export function MailHeaders({ mail, headingLevel = 3, onDownload }: { mail: MailView; headingLevel?: 2 | 3; onDownload?: (attachmentId: string) => void }) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  const [confirmingOpen, setConfirmingOpen] = useState(false);
  const mismatch = senderMismatch(mail);
  const replyToDiffers = mail.replyTo !== null && mail.replyTo.toLowerCase() !== mail.fromAddress.toLowerCase();

  function openCustomer() {
    setConfirmingOpen(false);
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
        {mail.kind === 'fax' && (
          <>
            <dt>{t('mail.contactDoc.faxSender')}</dt>
            <dd data-testid="fax-sender">{mail.faxSender ?? t('mail.contactDoc.faxSenderUnknown')}</dd>
          </>
        )}
        {mail.replyTo !== null && (
          <>
            <dt>{t('mail.headers.replyTo')}</dt>
            <dd data-testid="mail-reply-to">
              {mail.replyTo}
              {replyToDiffers && <span className="muted"> — {t('mail.headers.replyToDiffers')}</span>}
            </dd>
          </>
        )}
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
          <button
            type="button"
            className="link-like"
            onClick={() => (mismatch ? setConfirmingOpen(true) : openCustomer())}
            data-testid="open-customer"
          >
            {mail.customerName}
          </button>
          {confirmingOpen && (
            <span className="confirm-inline" role="alertdialog" aria-label={t('mail.headers.openAnywayLabel')} data-testid="open-customer-confirm">
              {t('mail.headers.openAnywayText', { customer: mail.customerName, from: mail.fromAddress })}{' '}
              <button type="button" onClick={openCustomer}>
                {t('mail.headers.openAnyway')}
              </button>{' '}
              <button type="button" onClick={() => setConfirmingOpen(false)}>
                {t('mail.desk.cancel')}
              </button>
            </span>
          )}
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
                    {onDownload && !attachment.rejected ? (
                      <button type="button" className="link-like" data-testid="download-attachment" onClick={() => onDownload(attachment.id)}>
                        {t('mail.contactDoc.download', { name: safeAttachmentName(attachment.filename) })}
                      </button>
                    ) : (
                      safeAttachmentName(attachment.filename)
                    )}{' '}
                    ({attachment.contentType}, {formatSize(attachment.size)})
                    {attachment.rejected && <span className="muted"> — {t(`mail.headers.rejected.${attachment.rejected}`)}</span>}
                  </li>
                ))}
              </ul>
              <p className="hint">{t('mail.headers.attachmentsHint')}</p>
            </dd>
          </>
        )}
      </dl>
      {mismatch && (
        <div className="warning" role="alert" data-testid="mail-mismatch">
          {!mail.senderKnown && <p>{t('mail.headers.senderUnknown', { from: mail.fromAddress, customer: mail.customerName })}</p>}
          {mail.senderCustomers.length > 0 && (
            <p>{t('mail.headers.senderIsOther', { names: mail.senderCustomers.map((c) => c.name).join(', ') })}</p>
          )}
          {mail.matchState === 'needs_matching' && mail.matchProblem && (
            <p data-testid="mail-match-problem">
              {t(`mail.headers.matchProblem.${mail.matchProblem}`)}{' '}
              {mail.claimedIncident
                ? t('mail.headers.claimed', {
                    ref: mail.claimedIncident.incidentRef ?? mail.claimedIncident.incidentTitle,
                    customer: mail.claimedIncident.customerName,
                  })
                : mail.claimedIncidentHidden
                  ? t('mail.headers.claimedHidden')
                  : ''}
            </p>
          )}
        </div>
      )}
    </header>
  );
}
