import { record } from 'rrweb';
import { SCREEN_SYNC_LIMITS, ScreenSyncBatchResult, PORTAL_SCREEN_SYNC_API, screenSyncPath, type RecordedEvent } from '../../shared/screen-sync.js';
import { call, PortalApiError } from './api.js';

/**
 * Records this page with rrweb while the operator watches and posts the events in numbered
 * batches (a batch sent again after a lost answer is stored once). Every input's value is
 * masked (maskAllInputs), and elements with the `screen-sync-private` class are left out.
 */
const FLUSH_MS = 400;
const RETRY_MS = 2000;
/** A new full snapshot this often, so the relay keeps only what came since (and an operator rejoining starts from it). */
const CHECKOUT_MS = 30_000;
/** Also named in ScreenShare.tsx, which must not import this module statically. */
export const PRIVATE_CLASS = 'screen-sync-private';

export interface ScreenRecorder {
  /** rrweb's id of a node of this page (the operator points at nodes by these ids). */
  nodeOf(id: number): Node | null;
  stop(): void;
}

export function startScreenRecorder(shareId: string, onEnded: () => void): ScreenRecorder {
  let queue: RecordedEvent[] = [];
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let sending = false;
  let stopped = false;
  let inFlight: { seq: number; events: RecordedEvent[] } | null = null;

  const schedule = (ms: number) => {
    if (timer === null && !stopped) timer = setTimeout(() => void flush(), ms);
  };
  const flush = async () => {
    timer = null;
    if (sending || stopped) return;
    if (!inFlight) {
      if (queue.length === 0) return;
      inFlight = { seq: (seq += 1), events: queue.slice(0, SCREEN_SYNC_LIMITS.eventsPerBatch) };
      queue = queue.slice(inFlight.events.length);
    }
    sending = true;
    try {
      await call('POST', screenSyncPath(PORTAL_SCREEN_SYNC_API.events, shareId), ScreenSyncBatchResult, inFlight);
      inFlight = null;
      if (queue.length > 0) schedule(0);
    } catch (error) {
      if (error instanceof PortalApiError && (error.status === 409 || error.status === 404)) {
        // The share ended (the call, the operator, or another tab): nothing more is sent.
        stop();
        onEnded();
      } else if (error instanceof PortalApiError && (error.status === 400 || error.status === 413)) {
        // Refused as malformed or too large: sending it again would never help.
        inFlight = null;
        schedule(FLUSH_MS);
      } else {
        schedule(RETRY_MS);
      }
    } finally {
      sending = false;
    }
  };

  const stopRecording = record({
    emit(event) {
      if (stopped) return;
      queue.push(event as unknown as RecordedEvent);
      schedule(FLUSH_MS);
    },
    maskAllInputs: true,
    blockClass: PRIVATE_CLASS,
    checkoutEveryNms: CHECKOUT_MS,
    inlineStylesheet: true,
    collectFonts: false,
    recordCanvas: false,
    sampling: { mousemove: 100, scroll: 150 },
  });

  function stop() {
    if (stopped) return;
    stopped = true;
    stopRecording?.();
    if (timer !== null) clearTimeout(timer);
    timer = null;
    queue = [];
  }

  return {
    nodeOf: (id) => record.mirror.getNode(id),
    stop,
  };
}
