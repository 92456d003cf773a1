import type { Replayer } from 'rrweb';
import type { RecordedEvent, ScreenSyncPointer } from '../../../shared/screen-sync.js';

/**
 * The customer's page, replayed live with rrweb's Replayer. Important: the Replayer builds the
 * page in an iframe with `sandbox="allow-same-origin"` and nothing else, so no script of the
 * customer's page runs (no allow-scripts; UNSAFE_replayCanvas stays off), and the app's CSP
 * (inherited by the frame) keeps it from loading anything the app may not.
 */
export interface LiveReplay {
  add(events: readonly RecordedEvent[]): void;
  /** The customer's element under a point of the view (in the view's pixels), for the operator's pointer. */
  pointAt(clientX: number, clientY: number): ScreenSyncPointer | null;
  /** The recorded page's size (the customer's viewport). */
  size(): { width: number; height: number } | null;
  destroy(): void;
}

export async function startLiveReplay(root: HTMLElement, onResize: (size: { width: number; height: number }) => void): Promise<LiveReplay> {
  const { Replayer: ReplayerClass } = await import('rrweb');
  await import('rrweb/dist/style.css');
  const replayer: Replayer = new ReplayerClass([], {
    root,
    liveMode: true,
    mouseTail: false,
    triggerFocus: false,
    showWarning: false,
    UNSAFE_replayCanvas: false,
    insertStyleRules: ['input, textarea, select { caret-color: transparent; }'],
  });
  let size: { width: number; height: number } | null = null;
  replayer.on('resize', (dimension) => {
    size = dimension as { width: number; height: number };
    onResize(size);
  });
  // Every event is applied as it arrives: the customer's clock is not ours, so no event waits on its timestamp.
  replayer.startLive(Number.MAX_SAFE_INTEGER);
  return {
    add(events) {
      for (const event of events) replayer.addEvent(event as unknown as Parameters<Replayer['addEvent']>[0]);
    },
    pointAt(clientX, clientY) {
      const frame = replayer.iframe;
      const doc = frame.contentDocument;
      if (!doc || !size) return null;
      const rect = frame.getBoundingClientRect();
      const scale = rect.width / size.width || 1;
      const x = (clientX - rect.left) / scale;
      const y = (clientY - rect.top) / scale;
      const node = doc.elementFromPoint(x, y);
      const id = node ? replayer.getMirror().getId(node) : -1;
      const scrollX = doc.defaultView?.scrollX ?? 0;
      const scrollY = doc.defaultView?.scrollY ?? 0;
      return { nodeId: id > 0 ? id : null, x: Math.max(0, Math.round(x + scrollX)), y: Math.max(0, Math.round(y + scrollY)) };
    },
    size: () => size,
    destroy() {
      replayer.destroy();
    },
  };
}
