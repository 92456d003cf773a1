import { CacheStore } from '../electron/core/cache/cache-store.js';
import { openCache } from '../electron/core/cache/open-cache.js';
import { createStderrLogger } from '../electron/core/logger.js';
import type { CustomerGenerator } from '../backend/src/seed/generator.js';

export interface SeedCacheOptions {
  /** The app cache file; created (with the app's own migrations) when missing. */
  file: string;
  generator: CustomerGenerator;
  /** Customers per transaction. */
  chunkSize?: number;
  onProgress?: (written: number, total: number) => void;
}

export interface SeedCacheTotals {
  customers: number;
  incidents: number;
  contacts: number;
}

/**
 * Writes generated customers straight into an app cache file through the app's own cache
 * code (the same indexing the first sync does), skipping the backend. The lookup benchmark
 * builds its million-customer cache this way.
 */
export function seedCache(options: SeedCacheOptions): SeedCacheTotals {
  const db = openCache(options.file);
  const totals: SeedCacheTotals = { customers: 0, incidents: 0, contacts: 0 };
  try {
    // Settings of this bulk-loading connection only. A load that dies half-way is run again,
    // so it need not wait for fsync; the generator's rows are consistent by construction, so
    // checking each reference costs time for nothing; the growing random-key indexes stay
    // in memory with a larger page cache.
    db.pragma('synchronous = OFF');
    db.pragma('foreign_keys = OFF');
    db.pragma('cache_size = -524288');
    const store = new CacheStore(db, { logger: createStderrLogger('warn') });
    const total = options.generator.count;
    for (const chunk of options.generator.chunks(options.chunkSize ?? 2000)) {
      store.upsertRecords(chunk);
      totals.customers += chunk.length;
      for (const record of chunk) {
        totals.incidents += record.incidents.length;
        totals.contacts += record.contacts.length;
      }
      options.onProgress?.(totals.customers, total);
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return totals;
}
