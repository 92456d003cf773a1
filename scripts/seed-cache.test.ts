import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CacheStore } from '../electron/core/cache/cache-store.js';
import { openCache } from '../electron/core/cache/open-cache.js';
import { createMemoryLogger } from '../electron/core/logger.js';
import { formatPhoneForDisplay } from '../shared/phone.js';
import { DEMO_USERS, planTenant } from '../backend/src/seed/seed-backend.js';
import { seedCache } from './seed-cache.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-seed-cache-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('seedCache', () => {
  it('writes generated customers into an app cache that the app can search', () => {
    const file = path.join(dir, 'cache.db');
    const { generator } = planTenant(DEMO_USERS, 99, 300, new Date('2026-01-01T00:00:00Z'));
    const progress: number[] = [];
    const totals = seedCache({ file, generator, chunkSize: 128, onProgress: (written) => progress.push(written) });
    expect(totals.customers).toBe(300);
    expect(totals.contacts).toBeGreaterThan(300 * 4);
    expect(progress).toEqual([128, 256, 300]);

    const db = openCache(file);
    try {
      const store = new CacheStore(db, { logger: createMemoryLogger() });
      expect(store.countCustomers()).toBe(300);
      const record = generator.recordAt(123);
      const phone = record.customer.phones[0];
      if (!phone) throw new Error('generated customer without a phone');
      expect(store.findByPhone(phone.e164).map((c) => c.id)).toEqual([record.customer.id]);
      expect(store.search(formatPhoneForDisplay(phone.e164)).map((c) => c.id)).toContain(record.customer.id);
      expect(store.search(record.customer.code).map((c) => c.id)).toContain(record.customer.id);
      const detail = store.getDetail(record.customer.id);
      expect(detail?.incidents.length).toBe(record.incidents.length);
      expect(detail?.contacts.length).toBe(record.contacts.length);
    } finally {
      db.close();
    }
  });
});
