import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CachedContact } from '../../../shared/ipc.js';
import type { Recording } from '../../../shared/recordings.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import { formatDateTime, formatDuration } from '../format.js';
import { useUiStore } from '../stores/ui.js';
import { RecordingPlayer } from './RecordingPlayer.js';
import type { PeaksLoader } from './waveform.js';
import './recordings.css';

type Listing =
  | { phase: 'loading' }
  /** Nothing to show: no recording, or the user may not hear it (the backend said 403: no trace of it here). */
  | { phase: 'none' }
  | { phase: 'offline' }
  | { phase: 'failed'; error: AppError }
  | { phase: 'listed'; recordings: Recording[] };

/** Answers that mean "not for you" or "not there": the section is not shown at all. */
const HIDDEN = new Set<AppError['code']>(['forbidden', 'not_found']);

/**
 * The recordings of the call contact chosen in the incident tree, asked from the backend each
 * time (never cached). Opening one asks for a playback ticket, which the backend audits at its
 * first use; a user without the right gets 403 and sees neither the list nor a player.
 */
export function ContactRecordings({ contact, loadPeaks }: { contact: CachedContact; loadPeaks?: PeaksLoader }) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const headingId = useId();
  const [listing, setListing] = useState<Listing>({ phase: 'loading' });
  const [sources, setSources] = useState<Record<string, string>>({});
  const [openError, setOpenError] = useState<AppError | null>(null);

  useEffect(() => {
    // The panel mounts one of these per chosen contact (keyed by its id): no state to reset here.
    let current = true;
    void invoke('recordings:list', { contactId: contact.id }).then((result) => {
      if (!current) return;
      if (result.ok) setListing(result.value.recordings.length > 0 ? { phase: 'listed', recordings: result.value.recordings } : { phase: 'none' });
      else if (HIDDEN.has(result.error.code)) setListing({ phase: 'none' });
      else if (result.error.code === 'offline') setListing({ phase: 'offline' });
      else setListing({ phase: 'failed', error: result.error });
    });
    return () => {
      current = false;
    };
  }, [contact.id]);

  async function open(recording: Recording) {
    setOpenError(null);
    const result = await invoke('recordings:ticket', { recordingId: recording.id, purpose: 'play' });
    if (result.ok) setSources((previous) => ({ ...previous, [recording.id]: result.value.url }));
    else if (result.error.code === 'forbidden') setListing({ phase: 'none' });
    else setOpenError(result.error);
  }

  if (listing.phase === 'none' || listing.phase === 'loading') return null;
  return (
    <section className="contact-recordings" aria-labelledby={headingId} data-testid="contact-recordings">
      <h4 id={headingId}>{t('recording.heading')}</h4>
      {listing.phase === 'offline' && <p className="muted">{t('recording.offline')}</p>}
      {listing.phase === 'failed' && (
        <p className="error" role="alert">
          <ErrorText error={listing.error} />
        </p>
      )}
      {listing.phase === 'listed' && (
        <ul className="recording-list">
          {listing.recordings.map((recording) => {
            const src = sources[recording.id];
            return (
              <li key={recording.id} data-testid="recording" data-recording-id={recording.id}>
                <span className="recording-meta">
                  {t('recording.item', { when: formatDateTime(recording.startedAt, language), duration: formatDuration(recording.durationMs / 1000) })}
                  {recording.legalHold && <span className="recording-hold"> · {t('recording.legalHold')}</span>}
                </span>
                {src ? (
                  <RecordingPlayer recording={recording} src={src} {...(loadPeaks ? { loadPeaks } : {})} />
                ) : (
                  <button type="button" onClick={() => void open(recording)} data-testid="recording-open">
                    {t('recording.play')}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {openError && (
        <p className="error" role="alert">
          {t('recording.openFailed')}{' '}
          <ErrorText error={openError} />
        </p>
      )}
    </section>
  );
}
