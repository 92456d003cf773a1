/**
 * Where the session token lives between calls. The Electron shell keeps it encrypted with
 * safeStorage (see electron/main.ts) so that a restart restores the session; the browser
 * shell keeps it in memory only, so nothing secret is written to disk there.
 */
export interface TokenStore {
  get(): Promise<string | null>;
  set(token: string | null): Promise<void>;
}

export class MemoryTokenStore implements TokenStore {
  #token: string | null = null;

  async get(): Promise<string | null> {
    return this.#token;
  }

  async set(token: string | null): Promise<void> {
    this.#token = token;
  }
}
