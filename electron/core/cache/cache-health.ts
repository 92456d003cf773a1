import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CacheProblem } from '../../../shared/ipc.js';
import { CodedError } from '../../../shared/result.js';
import type { Logger } from '../logger.js';
import { databaseFiles, removeDatabaseFiles } from './encrypted-database.js';
import { openCache, type CacheDb } from './open-cache.js';

/**
 * Checking a whole cache costs about a second per 100 MB on this kind of machine; bigger
 * caches get a check of what cannot be rebuilt from the server (the outbox and meta tables)
 * at open, and rely on the corruption errors every later read and write reports.
 */
export const FULL_QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024;

/** SQLite's result codes for a damaged file (better-sqlite3 puts them in `error.code`). */
export function isCorruptionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/**
 * Maps a failed cache write to what the operator must be told: a folder that cannot be written
 * (read-only file, folder or file system) or a full disk. Null for anything else.
 */
export function cacheProblemOf(error: unknown): CacheProblem | null {
  if (isCorruptionError(error)) return 'rebuilt_corrupt';
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  if (code === 'ENOSPC' || (typeof code === 'string' && code.startsWith('SQLITE_FULL')) || /database or disk is full/i.test(message)) return 'disk_full';
  if (
    code === 'EACCES' ||
    code === 'EROFS' ||
    code === 'EPERM' ||
    (typeof code === 'string' && (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN'))) ||
    /readonly database|read-only file system/i.test(message)
  ) {
    return 'read_only';
  }
  return null;
}

/**
 * `PRAGMA quick_check` of the whole cache when it is small enough to check at once, else of
 * the tables the server cannot give back. Returns null when healthy, else SQLite's first
 * complaint. A corruption error thrown by the check itself counts as a complaint.
 */
export function quickCheckCache(db: CacheDb, file: string): string | null {
  let size = 0;
  try {
    size = fs.statSync(file).size;
  } catch {
    // Gone or unreadable: the check below says so.
  }
  const checks = size <= FULL_QUICK_CHECK_MAX_BYTES ? ['quick_check'] : ['quick_check(outbox)', 'quick_check(meta)'];
  try {
    for (const check of checks) {
      const rows = db.pragma(check, { simple: false }) as { quick_check: string }[];
      const first = rows[0]?.quick_check ?? 'no answer';
      if (first !== 'ok') return first;
    }
    return null;
  } catch (error) {
    if (isCorruptionError(error)) return error instanceof Error ? error.message : String(error);
    throw error;
  }
}

interface SalvagedOutboxRow {
  client_id: string;
  entry_json: string;
  created_at: string;
  status: string;
  error: string | null;
  attempts: number;
}

/**
 * Rebuilds a damaged cache: the outbox rows that can still be read are copied out, the file is
 * removed, and a fresh cache holding only those rows takes its place; the sync engine then
 * takes a new snapshot from the server. Rows are read one by one so that a damaged page costs
 * only the rows on it.
 *
 * Important: the outbox is the operator's own unsent work that exists nowhere else; the rows
 * are in memory only between closing the old file and committing the new one.
 */
export function rebuildDamagedCache(file: string, key: Buffer | undefined, logger: Logger): { keptOutbox: number; unreadableOutbox: number } {
  const kept: SalvagedOutboxRow[] = [];
  let unreadable = 0;
  let db: CacheDb | null = null;
  try {
    db = openCache(file, { key });
  } catch (error) {
    logger.error('the damaged cache cannot be opened at all; its outbox cannot be read', { error: describe(error) });
  }
  if (db) {
    try {
      const seqs = readSeqs(db);
      const one = db.prepare('SELECT client_id, entry_json, created_at, status, error, attempts FROM outbox WHERE seq = ?');
      for (const seq of seqs) {
        try {
          const row = one.get(seq) as SalvagedOutboxRow | undefined;
          if (row) kept.push(row);
        } catch {
          unreadable++;
        }
      }
    } finally {
      db.close();
    }
  }
  const setAside = setAsideDamagedCache(file, logger);
  const fresh = openCache(file, { key });
  try {
    const insert = fresh.prepare('INSERT INTO outbox (client_id, entry_json, created_at, status, error, attempts) VALUES (?, ?, ?, ?, ?, ?)');
    fresh.transaction(() => {
      for (const row of kept) insert.run(row.client_id, row.entry_json, row.created_at, row.status, row.error, row.attempts);
    })();
  } finally {
    fresh.close();
  }
  logger.warn('the local cache was damaged and has been rebuilt; the server fills it again', {
    keptOutbox: kept.length,
    unreadableOutbox: unreadable,
    setAside: path.basename(setAside),
  });
  return { keptOutbox: kept.length, unreadableOutbox: unreadable };
}

/** Damaged copies kept beside the cache for support; older ones are removed. */
const KEPT_DAMAGED_COPIES = 2;
const DAMAGED_INFIX = '.damaged-';

/**
 * Moves a damaged cache (and its WAL and shared-memory files) aside as
 * `cache.db.damaged-<time>` instead of deleting it: support may want to look at it, and
 * whatever the salvage could not read is still in it. Only the newest copies are kept, so a
 * cache that keeps breaking cannot fill the disk. Returns the new name of the main file.
 */
export function setAsideDamagedCache(file: string, logger: Logger): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const target = `${file}${DAMAGED_INFIX}${stamp}`;
  for (const each of databaseFiles(file)) {
    const suffix = each.slice(file.length);
    try {
      fs.renameSync(each, `${target}${suffix}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}${DAMAGED_INFIX}`;
  const copies = fs
    .readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && !/-(wal|shm|journal)$/.test(name))
    .sort();
  for (const old of copies.slice(0, Math.max(0, copies.length - KEPT_DAMAGED_COPIES))) {
    removeDatabaseFiles(path.join(dir, old));
    logger.info('removed an old damaged copy of the cache', { file: old });
  }
  return target;
}

export interface CheckedCache {
  db: CacheDb;
  /** Null when the cache opened healthy. */
  problem: CacheProblem | null;
  /** Unsent entries of a damaged cache that could not be read back. */
  lostOutbox: number;
}

/**
 * Opens the user's cache and checks it before anything reads it: a file that fails to open
 * for damage, or fails `quick_check`, is rebuilt (rebuildDamagedCache: readable outbox rows
 * kept, the damaged file set aside) and the caller is told so it can say it and let the sync
 * engine fill the fresh cache. Other failures (a newer schema, a read-only folder) are thrown.
 */
export function openCheckedCache(file: string, key: Buffer, logger: Logger): CheckedCache {
  let complaint: string | null;
  try {
    const db = openCache(file, { key });
    try {
      complaint = quickCheckCache(db, file);
    } catch (error) {
      db.close();
      throw error;
    }
    if (complaint === null) return { db, problem: null, lostOutbox: 0 };
    db.close();
  } catch (error) {
    if (!isCorruptionError(error)) throw error;
    complaint = describe(error);
  }
  logger.error('the local cache is damaged; rebuilding it from the server', { complaint });
  const { unreadableOutbox } = rebuildDamagedCache(file, key, logger);
  return { db: openCache(file, { key }), problem: 'rebuilt_corrupt', lostOutbox: unreadableOutbox };
}

/**
 * A read-only view of a cache whose folder cannot be written: SQLite cannot open a WAL-mode
 * file on a read-only file system at all (it must create the shared-memory file beside it),
 * so the file (still encrypted) is copied into a private temporary folder and opened read
 * only there. `dispose` closes it and removes the copy.
 */
export function openReadOnlyCopy(file: string, key: Buffer): { db: CacheDb; dispose: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-cache-readonly-'));
  try {
    fs.chmodSync(dir, 0o700);
    const copy = path.join(dir, path.basename(file));
    for (const each of databaseFiles(file).slice(0, 2)) {
      if (fs.existsSync(each)) fs.copyFileSync(each, `${copy}${each.slice(file.length)}`);
    }
    const db = openCache(copy, { key, readonly: true });
    return {
      db,
      dispose: () => {
        if (db.open) db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The error a cache write that cannot be stored becomes: what is wrong and that nothing was kept. */
export function unwritableCacheError(problem: 'read_only' | 'disk_full'): CodedError {
  return new CodedError(
    'cache_unwritable',
    problem === 'disk_full'
      ? 'Not saved: the disk holding the local cache is full. Free some disk space and try again.'
      : 'Not saved: the local cache folder is read-only. Ask IT to make it writable and try again.',
  );
}

/** The outbox's sequence numbers, through its primary key; pages that cannot be read are skipped. */
function readSeqs(db: CacheDb): number[] {
  try {
    return db.prepare('SELECT seq FROM outbox ORDER BY seq').pluck().all() as number[];
  } catch {
    // The index walk hit a damaged page: probe the range one number at a time.
    const seqs: number[] = [];
    let max = 0;
    try {
      max = Number(db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get('outbox') ?? 0);
    } catch {
      return seqs;
    }
    for (let seq = 1; seq <= max; seq++) seqs.push(seq);
    return seqs;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
