import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { CodedError } from '../../../shared/result.js';

export type SqliteDb = Database.Database;

/** A cache key is 32 random bytes, used as SQLCipher's raw key (no passphrase derivation). */
export const CACHE_KEY_BYTES = 32;

export function newCacheKey(): Buffer {
  return randomBytes(CACHE_KEY_BYTES);
}

/** The first 16 bytes of every unencrypted SQLite file; an SQLCipher file starts with its random salt. */
const PLAIN_SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export type DatabaseFileState = 'missing' | 'plain' | 'encrypted';

/** Whether a database file is absent (or empty), plain SQLite, or something else: encrypted. */
export function databaseFileState(file: string): DatabaseFileState {
  let handle: number;
  try {
    handle = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const header = Buffer.alloc(PLAIN_SQLITE_HEADER.length);
    const read = fs.readSync(handle, header, 0, header.length, 0);
    if (read === 0) return 'missing';
    return read === header.length && header.equals(PLAIN_SQLITE_HEADER) ? 'plain' : 'encrypted';
  } finally {
    fs.closeSync(handle);
  }
}

/** The files SQLite keeps for one database in WAL mode. */
export function databaseFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
}

export function removeDatabaseFiles(file: string): void {
  for (const each of databaseFiles(file)) fs.rmSync(each, { force: true });
}

export interface OpenDatabaseOptions {
  /** Opens (and creates) the file encrypted with this key; without one the file is plain. */
  key?: Buffer;
  /** Names the file in error messages ("The local cache", "The local drafts"). */
  label: string;
  /**
   * Opens an existing file for reading only, changing nothing on disk (no folder, no mode, no
   * encryption of a plain file): for a cache whose folder cannot be written any more.
   */
  readonly?: boolean;
}

/**
 * Opens one of the app's SQLite files, encrypted with SQLCipher 4's settings when a key is
 * given: AES-256-CBC with an HMAC-SHA512 per page, 4 KiB pages, readable by the `sqlcipher`
 * tool with `PRAGMA key = "x'<hex>'"`. The file (and the WAL and shared-memory files SQLite
 * creates beside it with the file's permissions) is readable by the user only.
 *
 * A plain file met with a key is encrypted first (see encryptPlainDatabase): the app's files
 * are never left half plain. An encrypted file without a key, or with the wrong one, is
 * refused with `cache_locked`, and is not modified.
 */
export function openDatabaseFile(file: string, options: OpenDatabaseOptions): SqliteDb {
  const { key, label, readonly = false } = options;
  if (key !== undefined && key.length !== CACHE_KEY_BYTES) {
    throw new Error(`${label}: the encryption key must be ${CACHE_KEY_BYTES} bytes, got ${key.length}`);
  }
  if (!readonly) fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const state = databaseFileState(file);
  if (state === 'encrypted' && key === undefined) {
    throw new CodedError('cache_locked', `${label} at ${file} is encrypted and cannot be opened without its key`);
  }
  if (!readonly) {
    if (state === 'plain' && key !== undefined) encryptPlainDatabase(file, key);
    restrictToOwner(file);
  }

  const db = new Database(file, { readonly, fileMustExist: readonly });
  try {
    if (key !== undefined) applyKey(db, key);
    try {
      // The first read is where a wrong key shows: the first page does not authenticate.
      db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_NOTADB') {
        throw new CodedError(
          'cache_locked',
          key === undefined
            ? `${label} at ${file} is not a readable SQLite file`
            : `${label} at ${file} cannot be decrypted with the key this app holds (a different key, or a damaged file)`,
        );
      }
      throw error;
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function applyKey(db: SqliteDb, key: Buffer): void {
  db.pragma(`cipher = 'sqlcipher'`);
  db.pragma('legacy = 4');
  // A raw key: 256 random bits need no PBKDF2 stretching, which would cost ~0.2 s per open
  // (the snapshot worker opens its own connection).
  db.pragma(`key = "x'${key.toString('hex')}'"`);
}

/**
 * Turns a plain database file into an encrypted one without a moment where the real file is
 * half encrypted: the plain file is folded into one file (WAL checkpointed), copied, the copy
 * is encrypted in place and checked, and only then renamed over the original. A crash leaves
 * either the plain original (encrypted again on the next open) or the finished encrypted file;
 * a stale copy is removed on the next attempt.
 */
export function encryptPlainDatabase(file: string, key: Buffer): void {
  const staging = `${file}.encrypting`;
  removeDatabaseFiles(staging);
  const plain = new Database(file);
  try {
    plain.pragma('wal_checkpoint(TRUNCATE)');
    plain.pragma('journal_mode = DELETE');
  } finally {
    plain.close();
  }
  fs.copyFileSync(file, staging);
  fs.chmodSync(staging, 0o600);
  try {
    const copy = new Database(staging);
    try {
      copy.pragma(`cipher = 'sqlcipher'`);
      copy.pragma('legacy = 4');
      copy.pragma(`rekey = "x'${key.toString('hex')}'"`);
    } finally {
      copy.close();
    }
    const check = new Database(staging, { readonly: true });
    try {
      applyKey(check, key);
      const integrity = check.pragma('quick_check', { simple: true });
      if (integrity !== 'ok') throw new Error(`the encrypted copy of ${file} failed its check: ${String(integrity)}`);
    } finally {
      check.close();
    }
    if (databaseFileState(staging) !== 'encrypted') throw new Error(`the copy of ${file} did not come out encrypted`);
    fsyncFile(staging);
    // The plain file's WAL was checkpointed into it; a leftover one must not be replayed into
    // the encrypted file.
    for (const sidecar of databaseFiles(file).slice(1)) fs.rmSync(sidecar, { force: true });
    fs.renameSync(staging, file);
    fsyncFile(path.dirname(file));
  } catch (error) {
    removeDatabaseFiles(staging);
    throw error;
  }
}

function fsyncFile(file: string): void {
  const handle = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(handle);
  } finally {
    fs.closeSync(handle);
  }
}

/** Creates the file 0600 (SQLite gives its WAL and shared-memory files the same mode) or narrows it. */
function restrictToOwner(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const each of databaseFiles(file)) {
    try {
      fs.chmodSync(each, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/**
 * Makes the folders from `top` down to `dir` (inclusive) private to the user: created 0700,
 * and narrowed to 0700 when an older version left them 0755.
 */
export function ensurePrivateFolders(top: string, dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const relative = path.relative(top, dir);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`${dir} is not inside ${top}`);
  let current = top;
  fs.chmodSync(current, 0o700);
  for (const part of relative.split(path.sep).filter(Boolean)) {
    current = path.join(current, part);
    fs.chmodSync(current, 0o700);
  }
}
