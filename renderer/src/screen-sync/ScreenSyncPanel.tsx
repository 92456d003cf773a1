import { useEffect, useId, useRef, useState, type FormEvent, type MouseEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ScreenSyncView } from '../../../shared/screen-sync.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { ErrorText } from '../components/ErrorText.js';
import type { Call } from '../phone/call-machine.js';
import { startLiveReplay, type LiveReplay } from './replay.js';
import './screen-sync.css';

/** How often the card asks for new events while the customer's page is shown. */
export const SCREEN_SYNC_POLL_MS = 500;
/** The widest the replayed page is drawn in the card; larger pages are scaled down. */
const VIEW_MAX_WIDTH = 480;

/**
 * Screen sync in the operator's call card (issue 10 item 7): the operator types the six digits
 * the customer reads out, then sees the customer's portal page live (replayed in a sandboxed
 * frame, inputs masked by the customer's recorder), clicks on it to point something out to
 * the customer, and stops. It ends by itself when the customer stops or the call ends.
 */
export function ScreenSyncPanel({ call, pollMs = SCREEN_SYNC_POLL_MS }: { call: Call; pollMs?: number }) {
  if (call.consultFor !== null || (call.state !== 'connected' && call.state !== 'held')) return null;
  return <ScreenSyncForCall sipCallId={call.sipCallId} pollMs={pollMs} />;
}

function ScreenSyncForCall({ sipCallId, pollMs }: { sipCallId: string; pollMs: number }) {
  const { t } = useTranslation();
  const codeId = useId();
  const [open, setOpen] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [session, setSession] = useState<ScreenSyncView | null>(null);
  const [pointed, setPointed] = useState(0);

  async function join(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = await invoke('screenSync:join', { sipCallId, code: code.trim() });
    setBusy(false);
    if (result.ok) {
      setSession(result.value);
      setCode('');
    } else setError(result.error);
  }

  async function stop() {
    if (!session) return;
    const result = await invoke('screenSync:stop', { sessionId: session.id });
    if (result.ok) setSession(result.value);
    else setError(result.error);
  }

  const active = session?.state === 'active';
  return (
    <section className="screen-sync" data-testid="screen-sync" data-state={session?.state ?? 'none'} aria-label={t('screenSync.title')}>
      {!session && !open && (
        <button type="button" onClick={() => setOpen(true)} data-testid="screen-sync-open">
          {t('screenSync.open')}
        </button>
      )}
      {!session && open && (
        <form className="screen-sync-join" onSubmit={(e) => void join(e)}>
          <label htmlFor={codeId}>{t('screenSync.code')}</label>
          <input
            id={codeId}
            inputMode="numeric"
            autoComplete="off"
            pattern="\d{6}"
            maxLength={6}
            value={code}
            onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
          />
          <button type="submit" disabled={busy || code.length !== 6}>
            {t('screenSync.view')}
          </button>
          <button type="button" className="quiet" onClick={() => setOpen(false)}>
            {t('screenSync.cancel')}
          </button>
        </form>
      )}
      {session && active && (
        <>
          <div className="screen-sync-bar">
            <span role="status">{pointed > 0 ? t('screenSync.pointed') : t('screenSync.viewing')}</span>
            <button type="button" onClick={() => void stop()}>
              {t('screenSync.stop')}
            </button>
          </div>
          <LiveView sessionId={session.id} pollMs={pollMs} onSession={setSession} onPointed={() => setPointed((n) => n + 1)} onError={setError} />
        </>
      )}
      {session && !active && (
        <p role="status" className="screen-sync-ended">
          {t(`screenSync.ended.${session.endReason ?? 'operator_stopped'}`)}{' '}
          <button type="button" className="quiet" onClick={() => setSession(null)}>
            {t('screenSync.again')}
          </button>
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          <ErrorText error={error} />
        </p>
      )}
    </section>
  );
}

function LiveView({
  sessionId,
  pollMs,
  onSession,
  onPointed,
  onError,
}: {
  sessionId: string;
  pollMs: number;
  onSession: (session: ScreenSyncView) => void;
  onPointed: () => void;
  onError: (error: AppError | null) => void;
}) {
  const { t } = useTranslation();
  const stage = useRef<HTMLDivElement>(null);
  const replay = useRef<LiveReplay | null>(null);
  const [scale, setScale] = useState(1);
  const [height, setHeight] = useState(0);

  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let after = 0;
    const fit = (size: { width: number; height: number }) => {
      const room = Math.min(VIEW_MAX_WIDTH, stage.current?.parentElement?.clientWidth || VIEW_MAX_WIDTH);
      const next = Math.min(1, room / size.width);
      setScale(next);
      setHeight(Math.round(size.height * next));
    };
    const open = async (): Promise<LiveReplay> => {
      replay.current?.destroy();
      stage.current!.replaceChildren();
      replay.current = await startLiveReplay(stage.current!, fit);
      return replay.current;
    };
    const poll = async () => {
      const result = await invoke('screenSync:feed', { sessionId, after });
      if (cancelled) return;
      let again = pollMs;
      if (!result.ok) {
        onError(result.error);
        again = pollMs * 4;
      } else {
        const { session, reset, batches } = result.value;
        if (session.state !== 'active') {
          onSession(session);
          return;
        }
        if (batches.length > 0) {
          const target = reset || !replay.current ? await open() : replay.current;
          if (cancelled) return;
          for (const batch of batches) target.add(batch.events);
          after = batches.at(-1)!.seq;
          onError(null);
          // A full page of batches: more are waiting.
          if (batches.length >= 200) again = 0;
        }
      }
      timer = setTimeout(() => void poll(), again);
    };
    void poll();
    return () => {
      cancelled = true;
      if (timer !== null) clearTimeout(timer);
      replay.current?.destroy();
      replay.current = null;
    };
  }, [sessionId, pollMs, onSession, onError]);

  async function point(event: MouseEvent<HTMLButtonElement>) {
    const pointer = replay.current?.pointAt(event.clientX, event.clientY);
    if (!pointer) return;
    const result = await invoke('screenSync:highlight', { sessionId, pointer });
    if (result.ok) onPointed();
    else onError(result.error);
  }

  return (
    <div className="screen-sync-view" data-testid="screen-sync-view" style={{ height: height || undefined }}>
      <div className="screen-sync-stage" ref={stage} style={{ transform: `scale(${scale})` }} />
      {/* Clicks land here, not in the customer's page: the frame never gets an event of ours. */}
      <button type="button" className="screen-sync-pointer" aria-label={t('screenSync.point')} title={t('screenSync.point')} onClick={(e) => void point(e)} />
    </div>
  );
}
