import fs from 'node:fs';
import path from 'node:path';
import { CodedError } from '../../../shared/result.js';
import type { Logger } from '../logger.js';
import { MAIL_DRAFTS_FILE, MailDraftStore } from '../mail-drafts.js';
import type { CacheKeyStore } from './cache-keys.js';
import { cacheProblemOf, isCorruptionError, setAsideDamagedCache } from './cache-health.js';
import { CacheStore } from './cache-store.js';
import { databaseFileState, newCacheKey, openDatabaseFile, removeDatabaseFiles } from './encrypted-database.js';
import { openCache } from './open-cache.js';

/**
 * The life of one user's folder (`<dataDir>/<tenant>/<user>`): cache.db and mail-drafts.db,
 * both encrypted with the one key the shell's CacheKeyStore keeps for that folder.
 */
export const CACHE_FILE = 'cache.db';

/**
 * The key to open the user's files with, made (and stored) on first use. Files that the key
 * cannot open (the key was lost: a keychain reset, Electron without a keychain after a
 * restart) are unreadable for good; they are removed so that a fresh sync rebuilds the cache.
 * A cache that the stored key no longer opens is damaged rather than foreign (its first page
 * no longer authenticates): it is set aside for support instead (`cacheSetAside`), and the
 * core tells the operator. Plain files from before encryption are kept: opening them with the
 * key encrypts them.
 */
export async function unlockUserCache(userDir: string, keys: CacheKeyStore, logger: Logger): Promise<{ key: Buffer; cacheSetAside: boolean }> {
  let key = await keys.load(userDir);
  const fresh = key === null;
  key ??= newCacheKey();
  let cacheSetAside = false;
  for (const name of [CACHE_FILE, MAIL_DRAFTS_FILE]) {
    const file = path.join(userDir, name);
    if (databaseFileState(file) !== 'encrypted') continue;
    if (!fresh && opensWith(file, key)) continue;
    if (!fresh && name === CACHE_FILE) {
      logger.error('the local cache cannot be read with the stored key: it is damaged; it is set aside and rebuilt by a fresh sync, and its unsent entries cannot be recovered', {
        file: name,
      });
      setAsideDamagedCache(file, logger);
      cacheSetAside = true;
      continue;
    }
    logger.error('a local file cannot be decrypted with the stored key and is removed; the cache is rebuilt by a fresh sync and unsent entries in that file are lost', {
      file: name,
      reason: fresh ? 'no key stored' : 'the stored key does not open it',
    });
    removeDatabaseFiles(file);
  }
  if (fresh) await keys.save(userDir, key);
  return { key, cacheSetAside };
}

function opensWith(file: string, key: Buffer): boolean {
  try {
    openDatabaseFile(file, { key, label: 'The local file' }).close();
    return true;
  } catch (error) {
    if (error instanceof CodedError && error.code === 'cache_locked') return false;
    // Opens, but a later page is damaged: openCheckedCache salvages what it can. A folder that
    // cannot be written: openCheckedCache's caller opens it read only.
    if (isCorruptionError(error) || cacheProblemOf(error) !== null) return true;
    throw error;
  }
}

/**
 * Wipes the user's folder at sign-out, session expiry or a disabled account: the cached
 * customers, incidents and contacts, and the key.
 *
 * Important: entries not yet accepted by the backend (notes and call wrap-ups in the outbox,
 * reply drafts saved offline) are kept, with the key, because they are the operator's own work
 * that exists nowhere else; the cache then holds nothing else (no customer, incident or
 * contact). They are pushed at the next login of the same user, once, by their client ids.
 * The core pushes them before signing out when it can (core.ts), so this is the offline case.
 */
export async function wipeUserCache(userDir: string, keys: CacheKeyStore, logger: Logger): Promise<{ keptEntries: number }> {
  const key = (await keys.load(userDir)) ?? undefined;
  let keptEntries = 0;

  const cacheFile = path.join(userDir, CACHE_FILE);
  const cacheOutbox = key === undefined ? 0 : keepOnlyOutbox(cacheFile, key, logger);
  if (cacheOutbox === 0) removeDatabaseFiles(cacheFile);
  keptEntries += cacheOutbox;

  const draftsFile = path.join(userDir, MAIL_DRAFTS_FILE);
  const drafts = key === undefined ? 0 : countDrafts(userDir, key, logger);
  if (drafts === 0) removeDatabaseFiles(draftsFile);
  keptEntries += drafts;

  if (keptEntries === 0) {
    await keys.remove(userDir);
    for (const leftover of [`${cacheFile}.encrypting`, `${draftsFile}.encrypting`]) removeDatabaseFiles(leftover);
    try {
      fs.rmdirSync(userDir);
    } catch {
      // Not empty (something this version does not know) or already gone: left as it is.
    }
  } else {
    logger.warn('signed out with entries the backend has not taken yet: they stay encrypted on this computer until this user logs in again', {
      keptEntries,
    });
  }
  return { keptEntries };
}

/** Empties the cache except its outbox; returns the number of outbox entries kept. */
function keepOnlyOutbox(file: string, key: Buffer, logger: Logger): number {
  if (databaseFileState(file) === 'missing') return 0;
  let db;
  try {
    db = openCache(file, { key });
  } catch (error) {
    logger.warn('the cache could not be opened while wiping it; it is removed', { error: describe(error) });
    return 0;
  }
  try {
    const entries = db.prepare('SELECT count(*) FROM outbox').pluck().get() as number;
    if (entries === 0) return 0;
    new CacheStore(db, { logger }).clearSyncedData();
    // The freed pages still hold (encrypted) customer data until they are reused.
    db.exec('VACUUM');
    return entries;
  } finally {
    db.close();
  }
}

function countDrafts(userDir: string, key: Buffer, logger: Logger): number {
  if (databaseFileState(path.join(userDir, MAIL_DRAFTS_FILE)) === 'missing') return 0;
  let drafts: MailDraftStore;
  try {
    drafts = new MailDraftStore(userDir, key);
  } catch (error) {
    logger.warn('the local drafts could not be opened while wiping them; they are removed', { error: describe(error) });
    return 0;
  }
  try {
    return drafts.all().length;
  } finally {
    drafts.close();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
