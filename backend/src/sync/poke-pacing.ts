/**
 * Paces the `changed` pokes of the event streams. Every poke makes an app pull, and a tenant
 * with a thousand operators each writing a note every ten seconds changes a hundred times a
 * second: poked at every change, every app would pull without pause and the backend would
 * drown (bench/agents.ts measured a 150 ms median at 200 agents). So each stream announces a
 * change after a random delay within the tenant's spread, at most once per spread, with the
 * newest sequence; the spread grows with the streams the tenant has open on this instance
 * (1 ms each, at most 1 s). Two operators still see each other's notes at once; a thousand
 * see them within a second, their pulls spread evenly over it instead of all at once.
 */
export const POKE_SPREAD_PER_STREAM_MS = 1;
export const POKE_SPREAD_MAX_MS = 1000;

/** Counts the open event streams per tenant on this instance. */
export class TenantStreams {
  readonly #open = new Map<string, number>();

  /** Counts one stream until the returned function is called. */
  open(tenantId: string): () => void {
    this.#open.set(tenantId, (this.#open.get(tenantId) ?? 0) + 1);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      const left = (this.#open.get(tenantId) ?? 1) - 1;
      if (left > 0) this.#open.set(tenantId, left);
      else this.#open.delete(tenantId);
    };
  }

  spreadMs(tenantId: string): number {
    return Math.min(POKE_SPREAD_MAX_MS, (this.#open.get(tenantId) ?? 0) * POKE_SPREAD_PER_STREAM_MS);
  }
}

export interface PacedPokes {
  /** A change up to `seq` was committed: announce it (now or within the spread). */
  poke(seq: number): void;
  stop(): void;
}

/** One stream's pacing: `send` gets the newest sequence, never an older one than it last got. */
export function pacePokes(send: (seq: number) => void, spreadMs: () => number, random: () => number = Math.random): PacedPokes {
  let newestSent = -1;
  let pending: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let stopped = false;
  const flush = () => {
    timer = null;
    if (pending === null || stopped) return;
    newestSent = pending;
    pending = null;
    lastSentAt = performance.now();
    send(newestSent);
  };
  return {
    poke(seq) {
      if (stopped || seq < newestSent) return;
      pending = Math.max(pending ?? seq, seq);
      if (timer) return;
      const spread = spreadMs();
      if (spread < 1) {
        flush();
        return;
      }
      const now = performance.now();
      const due = Math.max(now + random() * spread, lastSentAt + spread);
      timer = setTimeout(flush, due - now);
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
