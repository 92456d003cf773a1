/**
 * A ringing call ends when the PBX sends CANCEL. If that CANCEL is lost (a dropped WebSocket,
 * a PBX that forgot the branch) the card would ring on over later calls, so each ringing call
 * also has a timer of the phone's own: when it fires the phone gives up on the call itself.
 * Longer than any queue's per-operator ring time, so it only ever fires when the PBX is gone.
 */
export const RING_BACKSTOP_MS = 60_000;

export class RingBackstop {
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly giveUp: (callId: string) => void,
    private readonly ms: number = RING_BACKSTOP_MS,
  ) {}

  /** The call started ringing here. */
  ring(callId: string): void {
    this.stop(callId);
    this.#timers.set(
      callId,
      setTimeout(() => {
        this.#timers.delete(callId);
        this.giveUp(callId);
      }, this.ms),
    );
  }

  /** The call was answered, declined, cancelled or ended: it no longer rings. */
  stop(callId: string): void {
    const timer = this.#timers.get(callId);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(callId);
  }

  stopAll(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  isRinging(callId: string): boolean {
    return this.#timers.has(callId);
  }
}
