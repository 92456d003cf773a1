import { useEffect, useRef, useState } from 'react';
import { PORTAL_SCREEN_SYNC_API, PortalScreenShare, screenSyncPath, type ScreenSyncHighlight } from '../../shared/screen-sync.js';
import { call, PortalApiError } from './api.js';
import { useT } from './language.js';
import type { ScreenRecorder } from './screen-recorder.js';

/** The recorder's class name for what it leaves out (kept here so rrweb loads only when a share starts). */
const PRIVATE_CLASS = 'screen-sync-private';

/**
 * "Share my screen" (issue 10 item 7): only on the customer's press, during a call. Shows the
 * code to read to the operator, records the page while the operator watches, shows where the
 * operator points, and stops on the customer's press, the operator's, or the end of the call.
 */
const POLL_MS = 1000;
/** How long the operator's pointer stays on the page. */
const HIGHLIGHT_MS = 8000;

interface Box {
  top: number;
  left: number;
  width: number;
  height: number;
}

function boxOf(highlight: ScreenSyncHighlight, recorder: ScreenRecorder | null): Box {
  const node = highlight.nodeId === null ? null : recorder?.nodeOf(highlight.nodeId);
  const element = node instanceof Element ? node : (node?.parentElement ?? null);
  if (element && element.isConnected) {
    const rect = element.getBoundingClientRect();
    return { top: rect.top + window.scrollY - 4, left: rect.left + window.scrollX - 4, width: rect.width + 8, height: rect.height + 8 };
  }
  return { top: highlight.y - 16, left: highlight.x - 16, width: 32, height: 32 };
}

export function ScreenShare() {
  const t = useT();
  const [share, setShare] = useState<PortalScreenShare | null>(null);
  const [code, setCode] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [pointer, setPointer] = useState<Box | null>(null);
  const recorder = useRef<ScreenRecorder | null>(null);
  const shownHighlight = useRef(0);

  const stopRecorder = () => {
    recorder.current?.stop();
    recorder.current = null;
  };

  // While a share is pending or active: follow its state, record once the operator watches.
  const live = share !== null && share.state !== 'ended';
  const shareId = share?.id;
  useEffect(() => {
    if (!live || !shareId) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const poll = async () => {
      try {
        const next = await call('GET', screenSyncPath(PORTAL_SCREEN_SYNC_API.share, shareId), PortalScreenShare);
        if (cancelled) return;
        if (next.state === 'active' && !recorder.current) {
          // rrweb is loaded only now: most visits never share their screen.
          const { startScreenRecorder } = await import('./screen-recorder.js');
          if (cancelled) return;
          recorder.current ??= startScreenRecorder(shareId, () => setShare((current) => (current ? { ...current, state: 'ended' } : current)));
        }
        if (next.state === 'ended') stopRecorder();
        if (next.highlight && next.highlight.seq > shownHighlight.current) {
          shownHighlight.current = next.highlight.seq;
          setPointer(boxOf(next.highlight, recorder.current));
        }
        setShare(next);
      } catch (error) {
        if (!cancelled && error instanceof PortalApiError && error.status === 404) setShare(null);
      }
      if (!cancelled) timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      cancelled = true;
      if (timer !== null) clearTimeout(timer);
    };
  }, [live, shareId]);

  useEffect(() => () => stopRecorder(), []);
  useEffect(() => {
    if (!pointer) return;
    const timer = setTimeout(() => setPointer(null), HIGHLIGHT_MS);
    return () => clearTimeout(timer);
  }, [pointer]);

  const start = async () => {
    setBusy(true);
    setFailure(null);
    try {
      const created = await call('POST', PORTAL_SCREEN_SYNC_API.shares, PortalScreenShare, {});
      shownHighlight.current = 0;
      setCode(created.code);
      setShare(created);
    } catch (error) {
      setFailure(error instanceof PortalApiError && error.status === 409 ? t('shareNeedsCall') : t('error', { message: String(error instanceof Error ? error.message : error) }));
    } finally {
      setBusy(false);
    }
  };
  const stop = async () => {
    if (!share) return;
    stopRecorder();
    try {
      setShare(await call('POST', screenSyncPath(PORTAL_SCREEN_SYNC_API.stop, share.id), PortalScreenShare, {}));
    } catch (error) {
      setFailure(t('error', { message: String(error instanceof Error ? error.message : error) }));
    }
  };

  let body;
  if (share?.state === 'pending') {
    body = (
      <>
        <p>{t('shareReadCode')}</p>
        <p className="share-code" data-testid="screen-share-code" aria-label={t('shareCodeLabel')}>
          {code}
        </p>
        <button type="button" onClick={() => void stop()}>
          {t('shareCancel')}
        </button>
      </>
    );
  } else if (share?.state === 'active') {
    body = (
      <>
        <p role="status">{t('sharing')}</p>
        <button type="button" onClick={() => void stop()}>
          {t('stopSharing')}
        </button>
      </>
    );
  } else {
    body = (
      <>
        {share?.state === 'ended' && <p role="status">{t('shareEnded')}</p>}
        <p>{t('shareHelp')}</p>
        <button type="button" disabled={busy} onClick={() => void start()}>
          {t('shareScreen')}
        </button>
      </>
    );
  }

  return (
    <>
      <aside className={`card screen-share ${PRIVATE_CLASS}`} aria-label={t('shareTitle')} data-testid="screen-share" data-state={share?.state ?? 'none'}>
        <h2>{t('shareTitle')}</h2>
        {body}
        {failure && <p role="alert">{failure}</p>}
      </aside>
      {pointer && (
        <div
          className={`screen-sync-highlight ${PRIVATE_CLASS}`}
          data-testid="screen-sync-highlight"
          role="status"
          aria-label={t('operatorPoints')}
          style={{ top: pointer.top, left: pointer.left, width: pointer.width, height: pointer.height }}
        />
      )}
    </>
  );
}
