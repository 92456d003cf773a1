import { CodedError } from '../../../shared/result.js';
import { openDatabaseFile, type SqliteDb } from './encrypted-database.js';
import { CACHE_MIGRATIONS, type CacheMigration } from './migrations/index.js';

export type CacheDb = SqliteDb;

export interface OpenCacheOptions {
  /**
   * The cache's encryption key (32 random bytes, kept by the shell's CacheKeyStore). The app
   * always gives one; only tests, benchmarks and the seed tool open plain caches. A plain
   * cache opened with a key is encrypted first (encryptPlainDatabase).
   */
  key?: Buffer;
  /** For tests of the migration runner; the app always uses the built-in list. */
  migrations?: readonly CacheMigration[];
  /**
   * Read only, changing nothing: a cache whose folder or disk cannot take writes any more
   * still answers lookups. Refused (cache_unwritable) when it would need a migration.
   */
  readonly?: boolean;
}

/**
 * SQLite's page cache per connection, in KiB when negative. With encryption every page read
 * from the file is decrypted and authenticated, so pages kept decrypted here are what keeps
 * lookups fast; bench/lookup.ts measures it against a plain cache.
 */
export const CACHE_SIZE_PRAGMA = -65536;

/** The schema version this build of the app writes. */
export const CACHE_SCHEMA_VERSION = CACHE_MIGRATIONS.length;

/**
 * The one function that opens the local cache: encrypted with its key (see
 * encrypted-database.ts), WAL, foreign keys, a busy timeout (the snapshot worker writes
 * through its own connection), then migrations up to the current version. A cache written by
 * a newer app version is refused and left untouched.
 */
export function openCache(filePath: string, options: OpenCacheOptions = {}): CacheDb {
  const migrations = options.migrations ?? CACHE_MIGRATIONS;
  checkMigrationNumbers(migrations);
  const db = openDatabaseFile(filePath, { key: options.key, label: 'The local cache', readonly: options.readonly });
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
    if (options.readonly) {
      if (current < latest) {
        throw new CodedError('cache_unwritable', `The local cache at ${filePath} cannot be written and needs an update this version makes (schema ${current} → ${latest})`);
      }
      db.pragma(`cache_size = ${CACHE_SIZE_PRAGMA}`);
      return db;
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`cache_size = ${CACHE_SIZE_PRAGMA}`);
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
