/** Thrown when the line of waiting work is full: the caller answers "busy" at once. */
export class WorkQueueFullError extends Error {
  constructor() {
    super('too much work of this kind is waiting');
    this.name = 'WorkQueueFullError';
  }
}

/**
 * Runs at most `maxConcurrent` jobs at once, keeps up to `maxQueued` more waiting in arrival
 * order, and refuses anything beyond that. A bounded line, not only bounded concurrency: with
 * an unbounded one a flood would still hold every request (and its memory) until its turn.
 */
export class WorkLimiter {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueued: number,
  ) {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new Error(`maxConcurrent: must be a positive integer, got ${maxConcurrent}`);
    if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new Error(`maxQueued: must be a non-negative integer, got ${maxQueued}`);
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running >= this.maxConcurrent) {
      if (this.#waiting.length >= this.maxQueued) throw new WorkQueueFullError();
      // The slot is handed over by the job that finishes, so #running never drops in between.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running += 1;
    }
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running -= 1;
    }
  }
}
