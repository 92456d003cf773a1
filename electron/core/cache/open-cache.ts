import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CodedError } from '../../../shared/result.js';
import { CACHE_MIGRATIONS, type CacheMigration } from './migrations/index.js';

export type CacheDb = Database.Database;

export interface OpenCacheOptions {
  /**
   * Encryption key of the cache file. This is the hook for SQLCipher (through
   * better-sqlite3-multiple-ciphers, a drop-in replacement of better-sqlite3): every caller
   * already opens the cache here, so adding encryption changes only this function. Until
   * then a key is refused rather than silently ignored, so nobody believes a cache is
   * encrypted when it is not.
   */
  key?: string;
  /** For tests of the migration runner; the app always uses the built-in list. */
  migrations?: readonly CacheMigration[];
}

/** The schema version this build of the app writes. */
export const CACHE_SCHEMA_VERSION = CACHE_MIGRATIONS.length;

/**
 * The one function that opens the local cache: WAL, foreign keys, a busy timeout (the snapshot
 * worker writes through its own connection), then migrations up to the current version.
 * A cache written by a newer app version is refused and left untouched.
 */
export function openCache(filePath: string, options: OpenCacheOptions = {}): CacheDb {
  if (options.key !== undefined) {
    throw new CodedError('internal', 'Cache encryption is not available yet: open the cache without a key');
  }
  const migrations = options.migrations ?? CACHE_MIGRATIONS;
  checkMigrationNumbers(migrations);
  fs.mkdirSync(path.dirname(filePath), { recursive: true });

  const db = new Database(filePath);
  try {
    db.pragma('busy_timeout = 5000');
    // Read the version before anything that could write (journal mode included), so a newer
    // cache is never modified.
    const current = db.pragma('user_version', { simple: true }) as number;
    const latest = migrations.length;
    if (current > latest) {
      throw new CodedError(
        'cache_too_new',
        `The local cache at ${filePath} was written by a newer version of Tsunagu (schema ${current}, this version knows ${latest}); update the app or remove the cache`,
      );
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('cache_size = -65536');
    for (const migration of migrations.slice(current)) {
      db.transaction(() => {
        db.exec(migration.up);
        db.pragma(`user_version = ${migration.version}`);
      }).immediate();
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function checkMigrationNumbers(migrations: readonly CacheMigration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`Cache migration ${migration.name} has number ${migration.version}, expected ${index + 1}`);
    }
  });
}
