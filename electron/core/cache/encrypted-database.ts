import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { CodedError } from '../../../shared/result.js';

export type SqliteDb = Database.Database;

/** A cache key is 32 random bytes, used as the cipher's raw key (no passphrase derivation). */
export const CACHE_KEY_BYTES = 32;

/**
 * How a file is encrypted: the cipher scheme's pragmas, given before the key. Important: the file
 * records none of them (its first 16 bytes are a random salt), so they are pinned here, never
 * left to the library's defaults.
 */
interface CipherScheme {
  name: string;
  pragmas: readonly string[];
}

/**
 * What the app writes: AEGIS-256 per page (SQLite3 Multiple Ciphers' `aegis`), an AEAD on the AES
 * round function with a 256-bit key, a fresh random 256-bit nonce and a 256-bit tag on every page
 * written, the page number bound into the per-page key. It runs on AES-NI / ARMv8 crypto (on CPUs
 * without them on its portable code): about 0.3 µs to decrypt a 4 KiB page here against 10 µs
 * for SQLCipher's AES-256-CBC + HMAC-SHA512, which cost the first sync 40–60 µs of CPU per
 * customer (bench:cache-write).
 */
export const CACHE_CIPHER: CipherScheme = { name: 'AEGIS-256', pragmas: [`cipher = 'aegis'`, `algorithm = 'aegis-256'`] };

/**
 * What caches and drafts written before AEGIS use: SQLCipher 4's settings (AES-256-CBC, HMAC-SHA512
 * per page). Still opened; re-encrypted with CACHE_CIPHER on a writable open (reencryptDatabase).
 */
export const SQLCIPHER_4: CipherScheme = { name: 'SQLCipher 4', pragmas: [`cipher = 'sqlcipher'`, 'legacy = 4'] };

/** The schemes an encrypted file may be in, the current one first. */
const KNOWN_CIPHERS: readonly CipherScheme[] = [CACHE_CIPHER, SQLCIPHER_4];

/**
 * Re-encrypting an older file needs memory about the size of the file for a while (see
 * reencryptDatabase: a 515 MiB cache of 100,000 customers took 570 MB more RSS and 11 s); a
 * larger one stays in its older scheme, which the app still reads and writes (its first sync is
 * behind it, and SQLCipher 4 costs little on small writes and cached reads).
 */
export const REENCRYPT_MAX_BYTES = 256 * 1024 * 1024;

export function newCacheKey(): Buffer {
  return randomBytes(CACHE_KEY_BYTES);
}

/** The first 16 bytes of every unencrypted SQLite file; an encrypted one starts with its random salt. */
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
 * Opens one of the app's SQLite files, encrypted with CACHE_CIPHER (AEGIS-256, raw 256-bit key,
 * 4 KiB pages) when a key is given. The file (and the WAL and shared-memory files SQLite creates
 * beside it with the file's permissions) is readable by the user only. The `sqlcipher` tool cannot
 * read it; SQLite3 Multiple Ciphers' shell can, with `PRAGMA cipher = 'aegis'`,
 * `PRAGMA algorithm = 'aegis-256'` and `PRAGMA key = "x'<hex>'"`.
 *
 * A plain file met with a key is encrypted first, and a file in the older SQLCipher 4 scheme is
 * re-encrypted with AEGIS-256 (see reencryptDatabase): the app's files are never left half plain
 * or half re-encrypted. An encrypted file without a key, or with the wrong one, is refused with
 * `cache_locked`, and is not modified.
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
  if (key === undefined || state !== 'encrypted') {
    const keyed = key === undefined ? undefined : { key, cipher: CACHE_CIPHER };
    return openChecked(file, readonly, keyed) ?? throwLocked(label, file, keyed !== undefined);
  }

  for (const cipher of KNOWN_CIPHERS) {
    const db = openChecked(file, readonly, { key, cipher });
    if (db === null) continue;
    if (cipher === CACHE_CIPHER || readonly || fs.statSync(file).size > REENCRYPT_MAX_BYTES) return db;
    db.close();
    reencryptDatabase(file, key, cipher);
    return openChecked(file, readonly, { key, cipher: CACHE_CIPHER }) ?? throwLocked(label, file, true);
  }
  return throwLocked(label, file, true);
}

/**
 * One connection, keyed when `keyed` is given, checked with a first read: that is where a wrong
 * key or scheme shows (the first page does not authenticate), and gives null.
 */
function openChecked(file: string, readonly: boolean, keyed: { key: Buffer; cipher: CipherScheme } | undefined): SqliteDb | null {
  const db = new Database(file, { readonly, fileMustExist: readonly });
  try {
    if (keyed !== undefined) applyKey(db, keyed.key, keyed.cipher);
    db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_NOTADB') return null;
    throw error;
  }
}

function throwLocked(label: string, file: string, keyed: boolean): never {
  throw new CodedError(
    'cache_locked',
    keyed
      ? `${label} at ${file} cannot be decrypted with the key this app holds (a different key, or a damaged file)`
      : `${label} at ${file} is not a readable SQLite file`,
  );
}

function applyKey(db: SqliteDb, key: Buffer, cipher: CipherScheme): void {
  for (const pragma of cipher.pragmas) db.pragma(pragma);
  // A raw key: 256 random bits need no passphrase stretching (PBKDF2 or Argon2), which would cost
  // 0.1–0.2 s per open (the snapshot worker opens its own connection).
  db.pragma(`key = "x'${key.toString('hex')}'"`);
  // SQLite writes its temporary files (sorts and temporary tables that outgrow memory, a VACUUM's
  // copy) unencrypted to the temporary folder; on an encrypted file they stay in memory instead.
  db.pragma('temp_store = MEMORY');
}

/** Encrypts a plain database file with CACHE_CIPHER (see reencryptDatabase). */
export function encryptPlainDatabase(file: string, key: Buffer): void {
  reencryptDatabase(file, key, null);
}

/**
 * Turns a plain database file (`from` null) or one encrypted in an older scheme into one
 * encrypted with CACHE_CIPHER, without a moment where the real file is half done: the file is
 * folded into one file (WAL checkpointed), copied, the copy is re-encrypted in place and checked,
 * and only then renamed over the original. A crash leaves either the original (done again on the
 * next open) or the finished file; a stale copy is removed on the next attempt.
 *
 * Important: the scheme's per-page reserved bytes differ, so SQLite3 Multiple Ciphers rebuilds
 * the copy through a VACUUM, whose temporary database and sort files SQLite writes UNENCRYPTED
 * to the temporary folder once they outgrow memory. For an encrypted original they are kept in
 * memory (applyKey sets temp_store = MEMORY): nothing of it is ever on disk in plain, at the price of memory
 * about the size of the file for the duration (hence REENCRYPT_MAX_BYTES).
 */
export function reencryptDatabase(file: string, key: Buffer, from: CipherScheme | null): void {
  const staging = `${file}.encrypting`;
  removeDatabaseFiles(staging);
  const openSource = (target: string): SqliteDb => {
    const db = new Database(target);
    if (from !== null) applyKey(db, key, from);
    return db;
  };
  const original = openSource(file);
  try {
    original.pragma('wal_checkpoint(TRUNCATE)');
    original.pragma('journal_mode = DELETE');
  } finally {
    original.close();
  }
  fs.copyFileSync(file, staging);
  fs.chmodSync(staging, 0o600);
  try {
    const copy = openSource(staging);
    try {
      for (const pragma of CACHE_CIPHER.pragmas) copy.pragma(pragma);
      copy.pragma(`rekey = "x'${key.toString('hex')}'"`);
    } finally {
      copy.close();
    }
    const check = new Database(staging, { readonly: true });
    try {
      applyKey(check, key, CACHE_CIPHER);
      const integrity = check.pragma('quick_check', { simple: true });
      if (integrity !== 'ok') throw new Error(`the re-encrypted copy of ${file} failed its check: ${String(integrity)}`);
    } finally {
      check.close();
    }
    if (databaseFileState(staging) !== 'encrypted') throw new Error(`the copy of ${file} did not come out encrypted`);
    fsyncFile(staging);
    // The original's WAL was checkpointed into it; a leftover one must not be replayed into the
    // re-encrypted file.
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
