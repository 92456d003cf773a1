import { useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { MailView } from '../../../../shared/api.js';
import { mailPartsDiffer, sanitiserLostText } from '../../../../shared/mail-content.js';
import { toRemoteImageUrl } from '../../../../shared/ipc.js';
import { invoke } from '../../api.js';
import { buildMailSrcdoc, linksInText, MAIL_FRAME_SANDBOX, sanitizeMailHtml, type MailLink } from '../sanitize.js';
import { LinkConfirmDialog } from './LinkConfirmDialog.js';

/**
 * The body of an untrusted mail: its HTML sanitised again and shown in a sandboxed frame (no
 * script, no same-origin, no forms, no popups, no navigation of the app) under its own CSP, or
 * its plain text. Remote images wait for "show images"; then the core fetches them and they go
 * into the frame as data: URLs (those it refuses stay hidden). Links are listed under the frame
 * and open only after confirmation. Give it `key={mail.id}`: the choices are per mail.
 */
/** The words of an HTML fragment, as a reader sees them (DOMParser runs no script and loads nothing). */
/** More remote images than this in one mail are left hidden: nothing legitimate needs them, a tracker might. */
export const MAX_REMOTE_IMAGES_PER_MAIL = 50;
/** The core fetches this many at a time, so one slow host does not hold up the rest. */
const REMOTE_IMAGE_FETCHES_AT_ONCE = 4;

/** Asks the core for each image; the map holds only the ones it handed back. */
async function fetchRemoteImages(urls: readonly string[]): Promise<Map<string, string>> {
  const fetched = new Map<string, string>();
  const queue = urls.filter((url) => toRemoteImageUrl(url) !== null).slice(0, MAX_REMOTE_IMAGES_PER_MAIL);
  const worker = async () => {
    for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
      const result = await invoke('mail:remoteImage', { url });
      if (result.ok && result.value.loaded) fetched.set(url, result.value.dataUrl);
    }
  };
  await Promise.all(Array.from({ length: REMOTE_IMAGE_FETCHES_AT_ONCE }, worker));
  return fetched;
}

function textOfHtml(html: string): string {
  const document = new DOMParser().parseFromString(html, 'text/html');
  for (const element of document.querySelectorAll('script, style, title')) element.remove();
  return document.body.textContent ?? '';
}

export function MailBody({ mail }: { mail: Pick<MailView, 'html' | 'text' | 'subject'> & Partial<Pick<MailView, 'htmlLostText'>> }) {
  const { t } = useTranslation();
  const linksHeading = useId();
  const [imagesPhase, setImagesPhase] = useState<'hidden' | 'loading' | 'shown'>('hidden');
  const [remoteImages, setRemoteImages] = useState<ReadonlyMap<string, string> | null>(null);
  const [format, setFormat] = useState<'html' | 'text'>(mail.html ? 'html' : 'text');
  const [confirming, setConfirming] = useState<MailLink | null>(null);

  const sanitised = useMemo(() => (mail.html ? sanitizeMailHtml(mail.html, { remoteImages }) : null), [mail.html, remoteImages]);
  const srcdoc = useMemo(() => (sanitised ? buildMailSrcdoc(sanitised.html) : ''), [sanitised]);
  const showImages = (urls: readonly string[]) => {
    setImagesPhase('loading');
    void fetchRemoteImages(urls).then((fetched) => {
      setRemoteImages(fetched);
      setImagesPhase('shown');
    });
  };
  const links = format === 'html' && sanitised ? sanitised.links : linksInText(mail.text);
  // What the operator reads (HTML) and what the incident keeps (plain text) may tell different stories.
  const partsDiffer = useMemo(() => (sanitised ? mailPartsDiffer(textOfHtml(sanitised.html), mail.text) : false), [sanitised, mail.text]);
  const lostText = useMemo(
    () => (mail.html && sanitised ? mail.htmlLostText === true || sanitiserLostText(textOfHtml(mail.html), textOfHtml(sanitised.html)) : false),
    [mail.html, mail.htmlLostText, sanitised],
  );
  const switchTo = (next: 'html' | 'text') => (
    <button type="button" data-testid={`show-${next}`} onClick={() => setFormat(next)}>
      {next === 'text' ? t('mail.body.showPlainText') : t('mail.body.showFormatted')}
    </button>
  );

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
      {mail.html && (
        <p className="hint part-notice" data-testid="mail-part-shown" data-part={format}>
          {format === 'html' ? t('mail.body.showingHtml') : t('mail.body.showingText')}
        </p>
      )}
      {mail.html && partsDiffer && (
        <p className="warning" role="alert" data-testid="mail-parts-differ">
          {t('mail.body.partsDiffer')} {switchTo(format === 'html' ? 'text' : 'html')}
        </p>
      )}
      {format === 'html' && lostText && (
        <p className="warning" role="alert" data-testid="mail-lost-text">
          {t('mail.body.lostText')} {switchTo('text')}
        </p>
      )}
      {format === 'html' && sanitised && (
        <>
          {imagesPhase === 'hidden' && sanitised.blockedRemoteImages > 0 && (
            <p className="notice remote-images" data-testid="remote-images-blocked">
              {t('mail.body.remoteImagesBlocked', { count: sanitised.blockedRemoteImages })}{' '}
              <button type="button" onClick={() => showImages(sanitised.remoteImageUrls)}>
                {t('mail.body.showImages')}
              </button>
            </p>
          )}
          {imagesPhase === 'loading' && (
            <p className="notice remote-images" role="status" data-testid="remote-images-loading">
              {t('mail.body.remoteImagesLoading')}
            </p>
          )}
          {imagesPhase === 'shown' && sanitised.blockedRemoteImages > 0 && (
            <p className="notice remote-images" role="status" data-testid="remote-images-failed">
              {t('mail.body.remoteImagesFailed', { count: sanitised.blockedRemoteImages })}
            </p>
          )}
          <iframe
            className="mail-frame"
            title={t('mail.body.frameTitle', { subject: mail.subject })}
            sandbox={MAIL_FRAME_SANDBOX}
            srcDoc={srcdoc}
            referrerPolicy="no-referrer"
            data-testid="mail-frame"
            data-remote-images={imagesPhase === 'shown'}
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
