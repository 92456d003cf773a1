import { useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { MailView } from '../../../../shared/api.js';
import { buildMailSrcdoc, linksInText, MAIL_FRAME_SANDBOX, sanitizeMailHtml, type MailLink } from '../sanitize.js';
import { LinkConfirmDialog } from './LinkConfirmDialog.js';

/**
 * The body of an untrusted mail: its HTML sanitised again and shown in a sandboxed frame (no
 * script, no same-origin, no forms, no popups, no navigation of the app) under its own CSP, or
 * its plain text. Remote images wait for "show images". Links are listed under the frame and
 * open only after confirmation. Give it `key={mail.id}`: the choices are per mail.
 */
export function MailBody({ mail }: { mail: Pick<MailView, 'html' | 'text' | 'subject'> }) {
  const { t } = useTranslation();
  const linksHeading = useId();
  const [remoteImages, setRemoteImages] = useState(false);
  const [format, setFormat] = useState<'html' | 'text'>(mail.html ? 'html' : 'text');
  const [confirming, setConfirming] = useState<MailLink | null>(null);

  const sanitised = useMemo(() => (mail.html ? sanitizeMailHtml(mail.html, { remoteImages }) : null), [mail.html, remoteImages]);
  const srcdoc = useMemo(() => (sanitised ? buildMailSrcdoc(sanitised.html, remoteImages) : ''), [sanitised, remoteImages]);
  const links = format === 'html' && sanitised ? sanitised.links : linksInText(mail.text);

  return (
    <div className="mail-body" data-testid="mail-body">
      {mail.html && (
        <div className="segmented" role="group" aria-label={t('mail.body.formatLabel')}>
          <button type="button" aria-pressed={format === 'html'} onClick={() => setFormat('html')}>
            {t('mail.body.formatted')}
          </button>
          <button type="button" aria-pressed={format === 'text'} onClick={() => setFormat('text')}>
            {t('mail.body.plainText')}
          </button>
        </div>
      )}
      {format === 'html' && sanitised && (
        <>
          {sanitised.blockedRemoteImages > 0 && (
            <p className="notice remote-images" data-testid="remote-images-blocked">
              {t('mail.body.remoteImagesBlocked', { count: sanitised.blockedRemoteImages })}{' '}
              <button type="button" onClick={() => setRemoteImages(true)}>
                {t('mail.body.showImages')}
              </button>
            </p>
          )}
          <iframe
            className="mail-frame"
            title={t('mail.body.frameTitle', { subject: mail.subject })}
            sandbox={MAIL_FRAME_SANDBOX}
            srcDoc={srcdoc}
            referrerPolicy="no-referrer"
            data-testid="mail-frame"
            data-remote-images={remoteImages}
          />
        </>
      )}
      {format === 'text' && (
        <pre className="mail-text" data-testid="mail-text">
          {mail.text || t('mail.body.noText')}
        </pre>
      )}
      {links.length > 0 && (
        <section className="mail-links" aria-labelledby={linksHeading}>
          <h4 id={linksHeading}>{t('mail.link.heading')}</h4>
          <p className="hint">{t('mail.link.hint')}</p>
          <ol>
            {links.map((link) => (
              <li key={link.number}>
                <button type="button" className="link-button" data-testid="mail-link" data-url={link.url} onClick={() => setConfirming(link)}>
                  <span className="link-number">[{link.number}]</span> {link.text && link.text !== link.url && <span className="link-text">{link.text}</span>}
                  <span className="link-url">{link.url}</span>
                </button>
              </li>
            ))}
          </ol>
        </section>
      )}
      {confirming && <LinkConfirmDialog link={confirming} onClose={() => setConfirming(null)} />}
    </div>
  );
}
