import fs from 'node:fs';
import path from 'node:path';
import { CACHE_KEY_BYTES } from './encrypted-database.js';

/**
 * Where the key of each user's cache lives. A key belongs to one user folder
 * (`<dataDir>/<tenant>/<user>`): one cache, its drafts, its key. The shells implement it:
 * - Electron (electron/cache-key.ts): encrypted with the OS keychain through safeStorage; with
 *   no real keychain the key stays in memory, so the cache lasts one run of the app.
 * - The browser shell: FileCacheKeyStore, a 0600 file beside the cache. Important: weaker,
 *   since anyone who can read the user's files (a backup, the same account) gets key and cache
 *   together; it only protects against other local users and copies of the cache file alone.
 */
export interface CacheKeyStore {
  /** The key of the cache in `userDir`, or null when there is none (first use, or lost). */
  load(userDir: string): Promise<Buffer | null>;
  save(userDir: string, key: Buffer): Promise<void>;
  remove(userDir: string): Promise<void>;
}

export const CACHE_KEY_FILE = 'cache.key';

/** The browser shell's key store: the key as hex in `<userDir>/cache.key`, mode 0600. */
export class FileCacheKeyStore implements CacheKeyStore {
  async load(userDir: string): Promise<Buffer | null> {
    let text: string;
    try {
      text = await fs.promises.readFile(path.join(userDir, CACHE_KEY_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const key = Buffer.from(text.trim(), 'hex');
    // A damaged key file opens nothing; the core treats it like a lost key.
    return key.length === CACHE_KEY_BYTES ? key : null;
  }

  async save(userDir: string, key: Buffer): Promise<void> {
    await fs.promises.mkdir(userDir, { recursive: true, mode: 0o700 });
    const file = path.join(userDir, CACHE_KEY_FILE);
    const temporary = `${file}.${process.pid}.tmp`;
    await fs.promises.writeFile(temporary, key.toString('hex'), { mode: 0o600 });
    await fs.promises.rename(temporary, file);
  }

  async remove(userDir: string): Promise<void> {
    await fs.promises.rm(path.join(userDir, CACHE_KEY_FILE), { force: true });
  }
}

/** Keys for this process only: the Electron shell without a keychain, and tests. */
export class MemoryCacheKeyStore implements CacheKeyStore {
  readonly #keys = new Map<string, Buffer>();

  async load(userDir: string): Promise<Buffer | null> {
    return this.#keys.get(path.resolve(userDir)) ?? null;
  }

  async save(userDir: string, key: Buffer): Promise<void> {
    this.#keys.set(path.resolve(userDir), Buffer.from(key));
  }

  async remove(userDir: string): Promise<void> {
    this.#keys.delete(path.resolve(userDir));
  }
}
