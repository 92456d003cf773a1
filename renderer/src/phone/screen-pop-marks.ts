/**
 * Performance marks of the screen pop, read by bench/screenpop.ts: `invite` when the INVITE
 * reaches the app, `painted` in the animation frame after the caller's panel rendered. Both
 * carry `{ callId }` (the SIP Call-ID) in their detail so that concurrent calls pair up;
 * `painted` also says what was shown (`found`, `unknown` or `error`).
 */
export const SCREENPOP_INVITE_MARK = 'screenpop:invite';
export const SCREENPOP_PAINTED_MARK = 'screenpop:painted';

const painted = new Set<string>();

export function markInvite(callId: string): void {
  try {
    performance.mark(SCREENPOP_INVITE_MARK, { detail: { callId } });
  } catch {
    // A missing Performance API must not cost a call.
  }
}

/** Marks the first paint of a call's screen pop, once per call. */
export function markPaintedOnce(callId: string, phase: string): void {
  if (painted.has(callId)) return;
  painted.add(callId);
  // Bounded: a long shift of calls must not grow this set for ever.
  if (painted.size > 1000) painted.delete(painted.values().next().value as string);
  const mark = () => {
    try {
      performance.mark(SCREENPOP_PAINTED_MARK, { detail: { callId, phase } });
    } catch {
      // As above.
    }
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(mark);
  else setTimeout(mark, 0);
}
