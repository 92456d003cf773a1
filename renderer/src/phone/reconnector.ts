import { reconnectDelayMs } from './registration-machine.js';

export interface ReconnectorOptions {
  /** One attempt: resolves once connected, rejects when it failed. */
  attempt(): Promise<void>;
  isConnected(): boolean;
  /** Called after each failed attempt, with the number of failures in a row. */
  onFailure?(failures: number, error: unknown): void;
  delayMs?(failures: number): number;
  setTimer?(run: () => void, ms: number): unknown;
  clearTimer?(handle: unknown): void;
}

/**
 * Gets the SIP WebSocket back after it was lost: retries with a short capped backoff, and at
 * once when the browser says the network is back or the window becomes visible again (after
 * sleep), because waiting out a backoff then would only delay the operator's phone.
 * One attempt at a time; `stop()` cancels everything.
 */
export class Reconnector {
  readonly #o: Required<Omit<ReconnectorOptions, 'onFailure'>> & Pick<ReconnectorOptions, 'onFailure'>;
  #failures = 0;
  #timer: unknown = null;
  #attempting = false;
  #stopped = false;

  constructor(options: ReconnectorOptions) {
    this.#o = {
      delayMs: (failures) => reconnectDelayMs(failures),
      setTimer: (run, ms) => setTimeout(run, ms),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      ...options,
    };
  }

  get failures(): number {
    return this.#failures;
  }

  get scheduled(): boolean {
    return this.#timer !== null;
  }

  /** The connection dropped: try again after the backoff. */
  lost(): void {
    if (this.#stopped || this.#attempting) return;
    this.#failures += 1;
    this.#schedule(this.#o.delayMs(this.#failures));
  }

  /** Try now (network back, window visible again) unless connected or already trying. */
  now(): void {
    if (this.#stopped || this.#attempting || this.#o.isConnected()) return;
    this.#cancelTimer();
    void this.#run();
  }

  /** The connection is up (however it came back): forget the failures. */
  connected(): void {
    this.#failures = 0;
    this.#cancelTimer();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelTimer();
  }

  #schedule(ms: number): void {
    this.#cancelTimer();
    this.#timer = this.#o.setTimer(() => {
      this.#timer = null;
      void this.#run();
    }, ms);
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.#o.clearTimer(this.#timer);
    this.#timer = null;
  }

  async #run(): Promise<void> {
    if (this.#stopped || this.#o.isConnected()) return;
    this.#attempting = true;
    try {
      await this.#o.attempt();
      this.#attempting = false;
      this.connected();
    } catch (error) {
      this.#attempting = false;
      if (this.#stopped) return;
      this.#failures += 1;
      this.#o.onFailure?.(this.#failures, error);
      this.#schedule(this.#o.delayMs(this.#failures));
    }
  }
}
