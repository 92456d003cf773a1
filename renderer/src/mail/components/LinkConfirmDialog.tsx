import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { AppError } from '../../../../shared/result.js';
import { ErrorText } from '../../components/ErrorText.js';
import { openConfirmedLink } from '../open-link.js';
import type { MailLink } from '../sanitize.js';

interface LinkConfirmDialogProps {
  link: MailLink;
  onClose(): void;
}

/**
 * Asks before a link from a mail leaves the app, showing the whole URL (the text of a link in
 * a phishing mail says anything). A modal dialog: focus starts on Cancel, Tab stays inside,
 * Escape cancels, and focus goes back to where it was.
 */
export function LinkConfirmDialog({ link, onClose }: LinkConfirmDialogProps) {
  const { t } = useTranslation();
  const titleId = useId();
  const urlId = useId();
  const cancelRef = useRef<HTMLButtonElement>(null);
  const dialogRef = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [opening, setOpening] = useState(false);

  useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    cancelRef.current?.focus();
    return () => previous?.focus();
  }, []);

  async function open() {
    setOpening(true);
    const result = await openConfirmedLink(link.url);
    setOpening(false);
    if (result.ok) onClose();
    else setError(result.error);
  }

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === 'Escape') {
      event.preventDefault();
      onClose();
      return;
    }
    if (event.key !== 'Tab') return;
    const buttons = [...(dialogRef.current?.querySelectorAll<HTMLButtonElement>('button:not(:disabled)') ?? [])];
    const first = buttons[0];
    const last = buttons[buttons.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first?.focus();
    }
  }

  const mailto = link.url.toLowerCase().startsWith('mailto:');
  return (
    <div className="modal-backdrop">
      <div
        ref={dialogRef}
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={urlId}
        data-testid="link-confirm"
        onKeyDown={onKeyDown}
      >
        <h2 id={titleId}>{mailto ? t('mail.link.confirmMailto') : t('mail.link.confirmTitle')}</h2>
        <p className="muted">{t('mail.link.confirmHint')}</p>
        <p id={urlId} className="link-full-url" data-testid="link-confirm-url">
          {link.url}
        </p>
        {error && (
          <p className="error" role="alert">
            <ErrorText error={error} />
          </p>
        )}
        <div className="modal-actions">
          <button ref={cancelRef} type="button" onClick={onClose}>
            {t('mail.link.cancel')}
          </button>
          <button type="button" className="primary" disabled={opening} onClick={() => void open()}>
            {t('mail.link.open')}
          </button>
        </div>
      </div>
    </div>
  );
}
