/**
 * The backend instances this core may talk to (TSUNAGU_BACKEND_URL, one URL or a list) and the
 * one it talks to now. Instances share one database, so a session, the change feed and the
 * outbox's idempotency keys are the same on each: moving between them loses nothing.
 *
 * The active instance is sticky: the core stays on it until it cannot be reached, then moves
 * to the next one in the list (round robin), and stays there even when the first one returns,
 * so that agents do not all swing back at once.
 */
export class BackendEndpoints {
  readonly urls: readonly string[];
  #active = 0;
  readonly #listeners = new Set<(active: string) => void>();

  /** `urls` as parseBackendUrls returns them: checked, without trailing slashes, at least one. */
  constructor(urls: readonly string[]) {
    if (urls.length === 0) throw new Error('BackendEndpoints needs at least one URL');
    this.urls = [...urls];
  }

  get active(): string {
    return this.urls[this.#active] as string;
  }

  /**
   * The instance at `url` could not be reached: the next one becomes active. Does nothing when
   * another request already moved on from `url` (many requests fail together when an instance
   * dies; only the first moves). Returns the active URL afterwards.
   */
  unreachable(url: string): string {
    if (this.urls.length > 1 && this.active === url) {
      this.#active = (this.#active + 1) % this.urls.length;
      for (const listener of this.#listeners) listener(this.active);
    }
    return this.active;
  }

  /** Called with the new active URL whenever the core moves to another instance. */
  onChange(listener: (active: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
