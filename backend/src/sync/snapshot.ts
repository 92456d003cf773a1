import { sql } from 'kysely';
import { GrownFromRights, type SnapshotQuery } from '../../../shared/api.js';
import { SNAPSHOT_FORMAT, type SnapshotPageHeader } from '../../../shared/snapshot-wire.js';
import type { z } from 'zod';
import type { AuthContext } from '../auth/sessions.js';
import { previousLoginAt, readHeldBranchCalls } from '../branch-calls/list.js';
import { visibleCustomerSql } from '../customers/visibility.js';
import { readConsistently, type DatabaseHandle } from '../db/database.js';
import { HttpError } from '../http/errors.js';
import { currentSeq } from './changelog.js';
import { readSnapshotTables, type SnapshotTablesJson } from './snapshot-tables.js';

const REMEMBERED_TOTALS = 1000;

/**
 * The number of customers a user may see, remembered per snapshot (user, rights, high-water
 * mark): counting a million customers on every page would cost more than the page itself.
 * Only a cache: another backend instance, or this one after eviction, simply counts again.
 */
export class SnapshotTotals {
  readonly #totals = new Map<string, number>();

  static key({ user, tenant }: AuthContext, highWaterSeq: number, grownFrom: GrownFromRights | null = null): string {
    return JSON.stringify([tenant.id, user.id, user.role, user.branch, user.customerLimitAuthority, highWaterSeq, grownFrom]);
  }

  get(key: string): number | undefined {
    return this.#totals.get(key);
  }

  set(key: string, total: number): void {
    if (this.#totals.size >= REMEMBERED_TOTALS) {
      const oldest = this.#totals.keys().next();
      if (!oldest.done) this.#totals.delete(oldest.value);
    }
    this.#totals.set(key, total);
  }
}

/** `query.grownFrom` parsed, or a 400 naming what is wrong with it. */
function parseGrownFrom(text: string | undefined): GrownFromRights | null {
  if (text === undefined) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HttpError('invalid_input', 'query.grownFrom: not JSON (send the rights the cache was complete for, as JSON)');
  }
  const parsed = GrownFromRights.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError('invalid_input', `query.grownFrom${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** A page as read: everything but the tables, and the tables' JSON with the rows as the database wrote them. */
export interface SnapshotPageRead {
  header: SnapshotPageHeader;
  tables: SnapshotTablesJson;
}

/** The page's body in the wire format of shared/snapshot-wire.ts (JSON, UTF-8). */
export function snapshotPageBody(page: SnapshotPageRead): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(page.header).slice(0, -1)},"tables":`), page.tables, CLOSING_BRACE]);
}

const CLOSING_BRACE = Buffer.from('}');

/**
 * One page of the first sync: the customers this user may see, in id order, whole; the last page
 * also carries the user's calls of "calls for you". With `grownFrom` (rights that grew), only
 * the customers the user sees now and those rights did not.
 *
 * The first page (no `after`) reads the tenant's sequence before it reads any customer, so
 * every write the pages miss is in the change log after `highWaterSeq`; later pages echo the
 * client's `highWaterSeq`, which makes an interrupted snapshot resumable from its cursor.
 */
export async function readSnapshotPage(
  handle: DatabaseHandle,
  auth: AuthContext,
  query: z.infer<typeof SnapshotQuery>,
  totals: SnapshotTotals,
): Promise<SnapshotPageRead> {
  const { user, tenant } = auth;
  if (query.after !== undefined && query.highWaterSeq === undefined) {
    throw new HttpError('invalid_input', 'query.highWaterSeq: required with after (send the value of the first page)');
  }
  const lastSeq = await currentSeq(handle, tenant.id);
  if (query.highWaterSeq !== undefined && query.highWaterSeq > lastSeq) {
    throw new HttpError('conflict', 'query.highWaterSeq: ahead of this server\'s change log; start the snapshot again');
  }
  const highWaterSeq = query.highWaterSeq ?? lastSeq;
  const grownFrom = parseGrownFrom(query.grownFrom);
  // `is not true`: a comparison with a customer's missing branch is NULL, i.e. not visible then.
  const newlyVisible = grownFrom === null ? sql<boolean>`1 = 1` : sql<boolean>`(${visibleCustomerSql(grownFrom, 'c')}) is not true`;
  return readConsistently(handle, async (db) => {
    let ids = db
      .selectFrom('customers as c')
      .select('c.id')
      .where('c.tenant_id', '=', tenant.id)
      .where(visibleCustomerSql(user, 'c'))
      .where(newlyVisible);
    if (query.after !== undefined) ids = ids.where('c.id', '>', query.after);
    const page = await ids.orderBy('c.id').limit(query.limit + 1).execute();
    const totalKey = SnapshotTotals.key(auth, highWaterSeq, grownFrom);
    let total = totals.get(totalKey);
    if (total === undefined) {
      const counted = await db
        .selectFrom('customers as c')
        .select((eb) => eb.fn.countAll().as('total'))
        .where('c.tenant_id', '=', tenant.id)
        .where(visibleCustomerSql(user, 'c'))
        .where(newlyVisible)
        .executeTakeFirstOrThrow();
      total = Number(counted.total);
      totals.set(totalKey, total);
    }
    const pageIds = page.slice(0, query.limit).map((row) => row.id);
    const first = pageIds[0];
    const last = pageIds[pageIds.length - 1];
    const visible = sql<boolean>`(${visibleCustomerSql(user, 'c')}) and (${newlyVisible})`;
    const tables = await readSnapshotTables(
      db,
      handle.dialect,
      first === undefined || last === undefined ? null : { tenantId: tenant.id, first, last, visible },
    );
    const nextAfter = page.length > query.limit ? (pageIds[pageIds.length - 1] ?? null) : null;
    // The calls come with the last page, written with it: an interrupted snapshot resumes and still gets them.
    // Important: read through `db`; on SQLite a query on the handle would wait for this transaction.
    const branchCalls = nextAfter === null ? await readHeldBranchCalls(db, user, await previousLoginAt(db, user, new Date())) : [];
    return { header: { format: SNAPSHOT_FORMAT, nextAfter, highWaterSeq, total, rights: user, branchCalls }, tables };
  });
}
