import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { FaxPagesView, MailView } from '../../../../shared/api.js';
import type { CachedContact } from '../../../../shared/ipc.js';
import type { AppError } from '../../../../shared/result.js';
import { invoke } from '../../api.js';
import { ErrorText } from '../../components/ErrorText.js';
import { base64ToBytes, saveFile } from '../save-file.js';
import { MailBody } from './MailBody.js';
import { MailHeaders } from './MailHeaders.js';

const FAX_TYPES = /^(application\/pdf|image\/tiff)$/;

/**
 * The mail or fax behind a contact of the incident tree, opened on request (the backend checks
 * who may see it and audits the opening of a fax and every download). A mail is shown as the
 * mail desk shows it (MailHeaders, MailBody: sanitised, in a sandboxed frame); a fax as PNG
 * pages the backend rendered, so nothing in the document runs or loads. A fax is never
 * answered by e-mail, so no reply is offered for it anywhere.
 */
export function ContactDocument({ contact }: { contact: Pick<CachedContact, 'id' | 'kind'> }) {
  const { t } = useTranslation();
  const [mail, setMail] = useState<MailView | null>(null);
  const [fax, setFax] = useState<FaxPagesView | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  async function open() {
    setLoading(true);
    setError(null);
    const loaded = await invoke('mail:byContact', { contactId: contact.id });
    if (!loaded.ok) {
      setError(loaded.error);
      setLoading(false);
      return;
    }
    setMail(loaded.value);
    const document = loaded.value.kind === 'fax' ? loaded.value.attachments.find((a) => a.rejected === null && FAX_TYPES.test(a.contentType)) : undefined;
    if (document) {
      const pages = await invoke('mail:faxPages', { attachmentId: document.id });
      if (pages.ok) setFax(pages.value);
      else setError(pages.error);
    }
    setLoading(false);
  }

  async function download(attachmentId: string) {
    const file = await invoke('mail:attachment', { attachmentId });
    if (!file.ok) {
      setError(file.error);
      return;
    }
    saveFile(file.value.filename, 'application/octet-stream', base64ToBytes(file.value.base64));
  }

  async function downloadRaw(mailId: string) {
    const file = await invoke('mail:raw', { mailId });
    if (!file.ok) {
      setError(file.error);
      return;
    }
    saveFile(file.value.filename, 'message/rfc822', base64ToBytes(file.value.base64));
  }

  if (!mail) {
    return (
      <div className="contact-document" data-testid="contact-document">
        <button type="button" onClick={() => void open()} disabled={loading} data-testid="open-contact-document">
          {contact.kind === 'fax' ? t('mail.contactDoc.openFax') : t('mail.contactDoc.openMail')}
        </button>
        {loading && <span role="status"> {t('mail.contactDoc.loading')}</span>}
        {error && <ErrorText error={error} />}
      </div>
    );
  }

  return (
    <section className="contact-document" data-testid="contact-document" data-kind={mail.kind} aria-label={t('mail.contactDoc.label')}>
      <MailHeaders mail={mail} onDownload={(id) => void download(id)} />
      <button type="button" className="quiet" onClick={() => void downloadRaw(mail.id)} data-testid="download-raw-mail">
        {t('mail.contactDoc.downloadRaw')}
      </button>
      {error && <ErrorText error={error} />}
      {mail.kind === 'fax' ? (
        <>
          <p className="hint" data-testid="fax-no-reply">
            {t('mail.contactDoc.faxNoReply')}
          </p>
          {fax ? (
            <div className="fax-pages" data-testid="fax-pages">
              {fax.pages.map((page, index) => (
                <img
                  key={index}
                  src={`data:image/png;base64,${page.pngBase64}`}
                  alt={t('mail.contactDoc.faxPage', { page: index + 1, count: fax.pageCount })}
                  data-testid="fax-page"
                />
              ))}
              {fax.pageCount > fax.pages.length && <p className="hint">{t('mail.contactDoc.morePages', { count: fax.pageCount - fax.pages.length })}</p>}
            </div>
          ) : (
            loading && <p role="status">{t('mail.contactDoc.loading')}</p>
          )}
        </>
      ) : (
        <MailBody key={mail.id} mail={mail} />
      )}
    </section>
  );
}
