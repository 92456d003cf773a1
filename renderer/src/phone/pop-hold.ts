/**
 * Refreshes that yield to a ringing call's screen pop. From the INVITE's arrival until the
 * card's first frame, the lookup is the one request that matters: a refresh of "calls for
 * you", of the call history or of the open customer sent meanwhile goes over the same socket
 * to the same core, ahead of or beside the lookup, and its answer is rendered on the same main
 * thread as the card. Such refreshes are held while a pop is pending and run, one task each,
 * after the last pending pop's first frame. A held refresh is never dropped: the same refresh
 * asked twice runs once (with the latest work), and a pop that never paints (the call went
 * away, the lookup is lost) stops holding after POP_HOLD_MAX_MS.
 */

/** The longest a pending pop holds refreshes back: past that they run anyway. */
export const POP_HOLD_MAX_MS = 1000;

/** Pops waiting for their first frame, by SIP Call-ID, each with its backstop timer. */
const pending = new Map<string, ReturnType<typeof setTimeout>>();
/** Refreshes held back, by what they refresh (a Map keeps the order they were first asked in). */
const held = new Map<string, () => void>();

/** A call's INVITE arrived and it is going to ring: refreshes wait for its card. */
export function popPending(sipCallId: string): void {
  if (pending.has(sipCallId)) return;
  pending.set(
    sipCallId,
    setTimeout(() => popSettled(sipCallId), POP_HOLD_MAX_MS),
  );
}

/** The call's card has been painted (or the call is gone): it no longer holds refreshes. */
export function popSettled(sipCallId: string): void {
  const timer = pending.get(sipCallId);
  if (timer === undefined) return;
  clearTimeout(timer);
  pending.delete(sipCallId);
  if (pending.size === 0) releaseHeld();
}

export function isPopPending(): boolean {
  return pending.size > 0;
}

/**
 * Runs `refresh` now, or once no pop is pending. `what` names the refresh: asked again while
 * held, it still runs once, with the latest work.
 */
export function refreshAfterPops(what: string, refresh: () => void): void {
  if (pending.size === 0) {
    refresh();
    return;
  }
  held.delete(what);
  held.set(what, refresh);
}

/** Each held refresh in a task of its own, so that together they make no long task. */
function releaseHeld(): void {
  const works = [...held.entries()];
  held.clear();
  // A pop arriving before a task runs holds that refresh again.
  for (const [what, work] of works) setTimeout(() => refreshAfterPops(what, work), 0);
}

export function resetPopHold(): void {
  for (const timer of pending.values()) clearTimeout(timer);
  pending.clear();
  held.clear();
}
