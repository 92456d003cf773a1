import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { CACHE_MIGRATIONS } from '../cache/migrations/index.js';
import { openCache, type CacheDb } from '../cache/open-cache.js';

/**
 * Cache files of a test file, each in a folder of its own under the system's temporary folder
 * (named after `prefix`), closed and removed after each test.
 */
export function useTempCaches(prefix: string): {
  cacheFile(): string;
  open(file?: string, migrations?: typeof CACHE_MIGRATIONS): CacheDb;
} {
  const dirs: string[] = [];
  const dbs: CacheDb[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) if (db.open) db.close();
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const cacheFile = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(dir);
    return path.join(dir, 'cache.db');
  };
  const open = (file = cacheFile(), migrations = CACHE_MIGRATIONS): CacheDb => {
    const db = openCache(file, { migrations });
    dbs.push(db);
    return db;
  };
  return { cacheFile, open };
}
