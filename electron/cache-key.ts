import fs from 'node:fs';
import path from 'node:path';
import { safeStorage } from 'electron';
import { MemoryCacheKeyStore, type CacheKeyStore } from './core/cache/cache-keys.js';
import type { Logger } from './core/logger.js';

/** The key file beside each user's cache: the key encrypted by the OS keychain. */
export const SAFE_STORAGE_KEY_FILE = 'cache-key.bin';

/**
 * Whether safeStorage encrypts with a real OS keychain. Important: on Linux without a secret
 * service it falls back to `basic_text`, a hard-coded key; nothing secret is stored then.
 */
export function osKeychainIsReal(): boolean {
  if (!safeStorage.isEncryptionAvailable()) return false;
  return process.platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text';
}

/**
 * The Electron shell's cache keys: each user's key in `<userDir>/cache-key.bin`, encrypted by
 * safeStorage (DPAPI, Keychain, libsecret/kwallet). Without a real keychain the key is kept in
 * memory only: the cache then lasts for this run of the app, and the next start finds a cache
 * it cannot open, removes it and syncs afresh (pending notes are pushed before sign-out and
 * while online, but an unsent one is lost if the app quits offline).
 */
export function createSafeStorageCacheKeyStore(logger: Logger): CacheKeyStore {
  const memory = new MemoryCacheKeyStore();
  const fileOf = (userDir: string) => path.join(userDir, SAFE_STORAGE_KEY_FILE);
  return {
    async load(userDir) {
      if (!osKeychainIsReal()) return memory.load(userDir);
      let encrypted: Buffer;
      try {
        encrypted = await fs.promises.readFile(fileOf(userDir));
      } catch {
        return null;
      }
      try {
        return Buffer.from(safeStorage.decryptString(encrypted), 'hex');
      } catch (error) {
        logger.warn('the stored cache key could not be decrypted by the OS keychain; the cache is rebuilt', {
          error: error instanceof Error ? error.message : String(error),
        });
        return null;
      }
    },
    async save(userDir, key) {
      if (!osKeychainIsReal()) {
        logger.warn('no OS keychain available: the cache key is kept in memory only, the cache lasts until the app quits', {});
        await fs.promises.rm(fileOf(userDir), { force: true });
        return memory.save(userDir, key);
      }
      await fs.promises.mkdir(userDir, { recursive: true, mode: 0o700 });
      const temporary = `${fileOf(userDir)}.tmp`;
      await fs.promises.writeFile(temporary, safeStorage.encryptString(key.toString('hex')), { mode: 0o600 });
      await fs.promises.rename(temporary, fileOf(userDir));
    },
    async remove(userDir) {
      await memory.remove(userDir);
      await fs.promises.rm(fileOf(userDir), { force: true });
    },
  };
}
