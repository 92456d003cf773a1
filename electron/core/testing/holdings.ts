import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { UserRights } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import type { Database } from '../../../backend/src/db/schema.js';
import { FileCacheKeyStore } from '../cache/cache-keys.js';
import { openCache } from '../cache/open-cache.js';
import { CACHE_FILE } from '../cache/user-cache.js';

/**
 * What a user's cache holds against what the server holds for them, for the drills (issue 13
 * item 9): row counts and checksums, never timings. Two holdings are equal when the cache has
 * every row the user may see, each once, and nothing else.
 */
export interface Holdings {
  customers: number;
  incidents: number;
  contacts: number;
  /** sha256 over the customers' id, code, name and classification, in id order. */
  customersChecksum: string;
  /** sha256 over the contacts' id, customer and body, in id order: a row lost or doubled changes it. */
  contactsChecksum: string;
}

interface CustomerRow {
  id: string;
  code: string;
  name: string;
  classification: number;
}
interface ContactRow {
  id: string;
  customer_id: string;
  body: string;
}

function checksum<T extends { id: string }>(rows: readonly T[], line: (row: T) => string): string {
  const hash = createHash('sha256');
  for (const row of [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) hash.update(`${line(row)}\n`);
  return hash.digest('hex');
}

function holdingsOf(customers: readonly CustomerRow[], incidents: number, contacts: readonly ContactRow[]): Holdings {
  return {
    customers: customers.length,
    incidents,
    contacts: contacts.length,
    customersChecksum: checksum(customers, (row) => `${row.id}\t${row.code}\t${row.name}\t${row.classification}`),
    contactsChecksum: checksum(contacts, (row) => `${row.id}\t${row.customer_id}\t${row.body}`),
  };
}

/** What the cache in `userDir` holds (opened read only; the core must have closed it or be gone). */
export async function cacheHoldings(userDir: string): Promise<Holdings> {
  const key = await new FileCacheKeyStore().load(userDir);
  const db = openCache(path.join(userDir, CACHE_FILE), { key: key ?? undefined, readonly: true });
  try {
    return holdingsOf(
      db.prepare('SELECT id, code, name, classification FROM customers').all() as CustomerRow[],
      db.prepare('SELECT count(*) FROM incidents').pluck().get() as number,
      db.prepare('SELECT id, customer_id, body FROM contacts WHERE pending = 0').all() as ContactRow[],
    );
  } finally {
    db.close();
  }
}

/** What the server holds that the user, with their current rights, may read. */
export async function serverHoldings(db: Kysely<Database>, tenantId: string, userId: string): Promise<Holdings> {
  const user = await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow();
  const rights = { role: user.role, branch: user.branch, customerLimitAuthority: user.customer_limit_authority } as UserRights;
  const all = await db.selectFrom('customers').select(['id', 'code', 'name', 'classification', 'branch']).where('tenant_id', '=', tenantId).execute();
  const visible = all.filter((row) => maySeeCustomer(rights, { classification: row.classification as 1 | 2 | 3, branch: row.branch }));
  const ids = new Set(visible.map((row) => row.id));
  const incidents = await db.selectFrom('incidents').select(['customer_id']).where('tenant_id', '=', tenantId).execute();
  const contacts = await db.selectFrom('contacts').select(['id', 'customer_id', 'body']).where('tenant_id', '=', tenantId).execute();
  return holdingsOf(
    visible,
    incidents.filter((row) => ids.has(row.customer_id)).length,
    contacts.filter((row) => ids.has(row.customer_id)),
  );
}
