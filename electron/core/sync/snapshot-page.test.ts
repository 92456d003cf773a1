import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../../../shared/api.js';
import { createCustomerRecord, DEMO_PASSWORD } from '../../../backend/src/testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../../../backend/src/testing/harness.js';
import { BackendClient } from '../backend-client.js';
import { CacheStore } from '../cache/cache-store.js';
import { openCache } from '../cache/open-cache.js';
import type { Logger } from '../logger.js';
import { listenOn } from '../testing/core-harness.js';
import { META, readProgress, takeSnapshot } from './snapshot.js';

/**
 * The first sync's pages against the real backend, when a page breaks the contract: the page is
 * refused with an error naming its table, row and field, nothing of it reaches the cache, and
 * the snapshot resumes after the last good page once the pages are right again.
 */

const PAGE_SIZE = 4;
const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

let backend: TestBackend;
let app: FastifyInstance;
let url: string;
let workDir: string;
/** Rewrites the body of the n-th snapshot page (1-based) while set. */
let corrupt: { page: number; rewrite: (body: { tables: Record<string, { rows: unknown[][] }> }) => void } | null = null;
let pagesServed = 0;

beforeAll(async () => {
  backend = await startTestBackend('sqlite');
  for (let i = 1; i <= 9; i++) {
    await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
      code: `P-${i}`,
      name: `頁 顧客${i}`,
      phones: [{ e164: `+8146${String(1000000 + i)}`, kind: 'mobile' }],
      incidents: [{ title: `件${i}`, contacts: [{ summary: `要約${i}`, kind: 'call', direction: 'inbound', callMeta: { durationSeconds: i } }] }],
    });
  }
  app = backend.secondInstance();
  app.addHook('onSend', async (request, _reply, payload) => {
    // The backend sends a page as bytes (the database's UTF-8 as it came).
    if (!request.url.startsWith(API.syncSnapshot) || !Buffer.isBuffer(payload)) return payload;
    pagesServed += 1;
    if (corrupt === null || corrupt.page !== pagesServed) return payload;
    const body = JSON.parse(payload.toString('utf8')) as { tables: Record<string, { rows: unknown[][] }> };
    corrupt.rewrite(body);
    return JSON.stringify(body);
  });
  url = `http://127.0.0.1:${await listenOn(app, 0)}`;
});

afterEach(() => {
  corrupt = null;
  pagesServed = 0;
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

afterAll(async () => {
  await app?.close();
  await backend?.dispose();
});

async function openStore(): Promise<{ store: CacheStore; client: BackendClient; close(): void }> {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-snapshot-page-'));
  const db = openCache(path.join(workDir, 'cache.db'), { key: randomBytes(32) });
  const client = new BackendClient(url);
  client.token = (await client.login({ tenant: 'demo', login: 'supervisor', password: DEMO_PASSWORD })).token;
  return { store: new CacheStore(db, { logger: silent }), client, close: () => db.close() };
}

const count = (store: CacheStore, table: 'customers' | 'incidents' | 'contacts') => store.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

describe('a snapshot page that breaks the contract', () => {
  it.each([
    ['a contact time that is not a time', 'contacts', 'occurredAt', (rows: unknown[][]): void => {
      (rows[1] as unknown[])[5] = 'yesterday';
    }],
    ['a customer without a name', 'customers', 'name', (rows: unknown[][]): void => {
      (rows[2] as unknown[])[2] = '';
    }],
    ['a phone in no known format', 'phones', 'e164', (rows: unknown[][]): void => {
      (rows[0] as unknown[])[1] = '03-1234-5678';
    }],
    ['an incident with an unknown status', 'incidents', 'status', (rows: unknown[][]): void => {
      (rows[3] as unknown[])[3] = 'pending';
    }],
  ] as const)('with %s is refused, naming table, row and field; nothing of it is written, and the snapshot resumes after the last good page', async (_case, table, field, rewrite) => {
    const { store, client, close } = await openStore();
    try {
      corrupt = { page: 2, rewrite: (body) => rewrite(body.tables[table]?.rows ?? []) };
      const failure = takeSnapshot(store, client, PAGE_SIZE, () => {});
      await expect(failure).rejects.toThrow(new RegExp(`table ${table}, row \\d+\\b.*, field ${field}: must `));
      // Page 1 only: its customers, incidents and contacts, and the cursor after it.
      expect(count(store, 'customers')).toBe(PAGE_SIZE);
      expect(readProgress(store).done).toBe(PAGE_SIZE);
      const after = store.getMeta(META.snapshotAfter);
      expect(after).not.toBeNull();
      const firstPageIds = store.db.prepare('SELECT id FROM customers ORDER BY id').pluck().all() as string[];
      expect(after).toBe(firstPageIds[firstPageIds.length - 1]);
      const incidentsBefore = count(store, 'incidents');
      const contactsBefore = count(store, 'contacts');
      expect(store.db.prepare('SELECT count(*) FROM contacts WHERE customer_id NOT IN (SELECT id FROM customers)').pluck().get()).toBe(0);

      corrupt = null;
      await takeSnapshot(store, client, PAGE_SIZE, () => {});
      const server = {
        customers: await backend.handle.db.selectFrom('customers').where('tenant_id', '=', backend.demo.tenant.id).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
        contacts: await backend.handle.db.selectFrom('contacts').where('tenant_id', '=', backend.demo.tenant.id).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
      };
      expect(count(store, 'customers')).toBe(Number(server.customers.n));
      expect(count(store, 'contacts')).toBe(Number(server.contacts.n));
      expect(count(store, 'incidents')).toBeGreaterThan(incidentsBefore);
      expect(count(store, 'contacts')).toBeGreaterThan(contactsBefore);
      expect(store.getMeta(META.snapshotState)).toBe('complete');
    } finally {
      close();
    }
  });
});
