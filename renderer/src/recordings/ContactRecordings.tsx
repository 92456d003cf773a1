import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CachedContact } from '../../../shared/ipc.js';
import type { Recording } from '../../../shared/recordings.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import { formatDateTime, formatDuration } from '../format.js';
import { saveFile } from '../save-file.js';
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

type Download = { recordingId: string; phase: 'busy' } | { recordingId: string; phase: 'started'; fileName: string } | { recordingId: string; phase: 'failed'; error: AppError | null };

const EXTENSIONS: Record<string, string> = { 'audio/mpeg': 'mp3', 'audio/ogg': 'ogg', 'audio/wav': 'wav' };

/** The saved file's name, as the backend's Content-Disposition names it. */
export function recordingFileName(recording: Recording): string {
  return `recording-${recording.id}.${EXTENSIONS[recording.mimeType] ?? 'mp3'}`;
}

/** Answers that mean "not for you" or "not there": the section is not shown at all. */
const HIDDEN = new Set<AppError['code']>(['forbidden', 'not_found']);

/**
 * The recordings of the call contact chosen in the incident tree, asked from the backend each
 * time (never cached). Opening one asks for a playback ticket, which the backend audits at its
 * first use; a user without the right gets 403 and sees neither the list nor a player.
 * "Download" asks for a download ticket (audited as a download), fetches the file and saves it
 * (save-file.ts: a normal download in the browser shell, the save dialog in Electron).
 */
export function ContactRecordings({ contact, loadPeaks }: { contact: CachedContact; loadPeaks?: PeaksLoader }) {
  const { t } = useTranslation();
  const language = useUiStore((s) => s.language);
  const headingId = useId();
  const [listing, setListing] = useState<Listing>({ phase: 'loading' });
  const [sources, setSources] = useState<Record<string, string>>({});
  const [openError, setOpenError] = useState<AppError | null>(null);
  const [download, setDownload] = useState<Download | null>(null);

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

  /** A playback ticket's URL; a 403 (rights withdrawn meanwhile) takes the whole section away. */
  async function ticketFor(recording: Recording): Promise<string | null> {
    const result = await invoke('recordings:ticket', { recordingId: recording.id, purpose: 'play' });
    if (result.ok) return result.value.url;
    if (result.error.code === 'forbidden') setListing({ phase: 'none' });
    else setOpenError(result.error);
    return null;
  }

  async function open(recording: Recording) {
    setOpenError(null);
    const url = await ticketFor(recording);
    if (url) setSources((previous) => ({ ...previous, [recording.id]: url }));
  }

  async function downloadRecording(recording: Recording) {
    const recordingId = recording.id;
    setDownload({ recordingId, phase: 'busy' });
    const ticket = await invoke('recordings:ticket', { recordingId, purpose: 'download' });
    if (!ticket.ok) {
      if (ticket.error.code === 'forbidden') setListing({ phase: 'none' });
      setDownload({ recordingId, phase: 'failed', error: ticket.error });
      return;
    }
    try {
      const response = await fetch(ticket.value.url);
      if (response.status === 403) {
        setListing({ phase: 'none' });
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const fileName = recordingFileName(recording);
      saveFile(fileName, await response.blob());
      setDownload({ recordingId, phase: 'started', fileName });
    } catch {
      setDownload({ recordingId, phase: 'failed', error: null });
    }
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
            const when = formatDateTime(recording.startedAt, language);
            const downloading = download?.recordingId === recording.id ? download : null;
            return (
              <li key={recording.id} data-testid="recording" data-recording-id={recording.id}>
                <span className="recording-meta">
                  {t('recording.item', { when, duration: formatDuration(recording.durationMs / 1000) })}
                  {recording.legalHold && <span className="recording-hold"> · {t('recording.legalHold')}</span>}
                </span>
                {src ? (
                  <RecordingPlayer recording={recording} src={src} renewSource={() => ticketFor(recording)} {...(loadPeaks ? { loadPeaks } : {})} />
                ) : (
                  <button type="button" onClick={() => void open(recording)} data-testid="recording-open">
                    {t('recording.play')}
                  </button>
                )}
                <button
                  type="button"
                  className="recording-download"
                  onClick={() => void downloadRecording(recording)}
                  disabled={downloading?.phase === 'busy'}
                  aria-label={t('recording.downloadOf', { when })}
                  data-testid="recording-download"
                >
                  {downloading?.phase === 'busy' ? t('recording.downloading') : t('recording.download')}
                </button>
                <span role="status" className="recording-download-status" data-testid="recording-download-status">
                  {downloading?.phase === 'started' && t('recording.downloadStarted', { file: downloading.fileName })}
                </span>
                {downloading?.phase === 'failed' && (
                  <p className="error" role="alert">
                    {t('recording.downloadFailed')} {downloading.error && <ErrorText error={downloading.error} />}
                  </p>
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
