/**
 * Performance marks of the screen pop, read by bench/screenpop.ts: `invite` when the INVITE
 * reaches the app, `painted` in the animation frame after the caller's panel rendered. Both
 * carry `{ callId }` (the SIP Call-ID) in their detail so that concurrent calls pair up;
 * `invite` also carries the caller's user part (`from`), and `painted` what was shown (`found`,
 * `unknown` or `error`) and whose panel it was (`customerId`, null when none), so that the
 * benchmark checks the right customer popped, not just some customer.
 */
export const SCREENPOP_INVITE_MARK = 'screenpop:invite';
export const SCREENPOP_PAINTED_MARK = 'screenpop:painted';

const painted = new Set<string>();

export function markInvite(callId: string, from: string): void {
  try {
    performance.mark(SCREENPOP_INVITE_MARK, { detail: { callId, from } });
  } catch {
    // A missing Performance API must not cost a call.
  }
}

/** Marks the first paint of a call's screen pop, once per call. */
export function markPaintedOnce(callId: string, phase: string, customerId: string | null): void {
  if (painted.has(callId)) return;
  painted.add(callId);
  // Bounded: a long shift of calls must not grow this set for ever.
  if (painted.size > 1000) painted.delete(painted.values().next().value as string);
  const mark = () => {
    try {
      performance.mark(SCREENPOP_PAINTED_MARK, { detail: { callId, phase, customerId } });
    } catch {
      // As above.
    }
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(mark);
  else setTimeout(mark, 0);
}
