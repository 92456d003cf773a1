/**
 * Performance marks of the screen pop, read by bench/screenpop.ts: `received` when the INVITE's
 * text reaches the phone (the WebSocket message, before sip.js builds the session), `invite`
 * when sip.js hands the app the new call, `asked` when the lookup request went to the core,
 * `answered` when the core's answer to the lookup is back, `stored` once it is in the screen
 * pop store, `painted` in the
 * animation frame after the caller's panel rendered (its detail also carries `committedAt`,
 * when React committed the panel), and `refused` for a call turned away as busy. All carry
 * `{ callId }` (the SIP Call-ID) in their detail so that concurrent calls pair up; `invite`
 * also carries the caller's user part (`from`), and `painted` what was shown (`found`,
 * `unknown` or `error`) and whose panel it was (`customerId`, null when none), so that the
 * benchmark checks the right customer popped, not just some customer. The stages between the
 * marks are where the time goes: IPC and the core's lookup, React's render, the frame.
 *
 * Important: a mark leaves the timeline as soon as it is made: whoever measures observes the
 * marks (a PerformanceObserver of type `mark`, as bench/support/screenpop-marks.ts does; the
 * observer gets each as it is made). The timeline keeps every mark until cleared, about 1 KB of
 * the renderer's native memory each (Blink's entry and its serialised detail, outside the JS
 * heap), and six a call kept for up to a thousand calls were much of what the renderer grew
 * per call (bench:memory, issue 13 item 7).
 */
export const SCREENPOP_RECEIVED_MARK = 'screenpop:received';
export const SCREENPOP_INVITE_MARK = 'screenpop:invite';
export const SCREENPOP_ASKED_MARK = 'screenpop:asked';
export const SCREENPOP_ANSWERED_MARK = 'screenpop:answered';
export const SCREENPOP_STORED_MARK = 'screenpop:stored';
export const SCREENPOP_PAINTED_MARK = 'screenpop:painted';
export const SCREENPOP_REFUSED_MARK = 'screenpop:refused';

import { popSettled } from './pop-hold.js';

const painted = new Set<string>();

function mark(name: string, detail: Record<string, unknown>, startTime?: number): void {
  try {
    performance.mark(name, startTime === undefined ? { detail } : { detail, startTime });
    performance.clearMarks(name);
  } catch {
    // A missing Performance API must not cost a call.
  }
}

/** `at`: performance.now() when the message arrived, taken before it was parsed. */
export function markReceived(callId: string, at: number): void {
  mark(SCREENPOP_RECEIVED_MARK, { callId }, at);
}

export function markInvite(callId: string, from: string): void {
  mark(SCREENPOP_INVITE_MARK, { callId, from });
}

export function markAsked(callId: string): void {
  mark(SCREENPOP_ASKED_MARK, { callId });
}

export function markAnswered(callId: string): void {
  mark(SCREENPOP_ANSWERED_MARK, { callId });
}

export function markStored(callId: string): void {
  mark(SCREENPOP_STORED_MARK, { callId });
}

export function markRefused(callId: string): void {
  mark(SCREENPOP_REFUSED_MARK, { callId });
}

/** Marks the first paint of a call's screen pop, once per call; refreshes held for it may run after. */
export function markPaintedOnce(callId: string, phase: string, customerId: string | null): void {
  if (painted.has(callId)) return;
  painted.add(callId);
  // Bounded: a long shift of calls must not grow this set for ever.
  if (painted.size > 1000) painted.delete(painted.values().next().value as string);
  const committedAt = performance.now();
  const markPainted = () => {
    mark(SCREENPOP_PAINTED_MARK, { callId, phase, customerId, committedAt });
    popSettled(callId);
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(markPainted);
  else setTimeout(markPainted, 0);
}

/**
 * Runs `work` once the next frame has been painted (a task after the animation frame): what
 * the operator does not need to see first (the customer panel with the incident tree, the
 * notification) must not delay the frame that shows the screen pop card.
 */
export function afterNextPaint(work: () => void): void {
  if (typeof requestAnimationFrame !== 'function') {
    setTimeout(work, 0);
    return;
  }
  requestAnimationFrame(() => setTimeout(work, 0));
}
