import { z } from 'zod';
import { CustomerType, IsoTime, type DerivedAttributes } from '../../../shared/domain.js';
import { recordAudit } from '../audit.js';
import { ConfigError } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import { writeTransaction, type WriteTx } from '../sync/changelog.js';
import { createChangeFeed, type ChangeFeed, type FeedLogger } from '../sync/feed.js';
import { portalTrx } from '../portal/schema.js';
import { deriveAttributes, type DerivedValues, type HistoryContact } from './rules.js';
import { derivedTrx, readDerivedAttributes } from './schema.js';

/**
 * The derived-attributes job (issue 10 item 8; rules in rules.ts and docs/derived-attributes.md).
 *
 * Per tenant it keeps a high-water mark: the change-log sequence it has read up to. A batch
 * reads at most `batchSize` contact entries after the mark, recomputes the attributes of every
 * customer they name from that customer's whole stored history, writes those that changed
 * (through the change log, so every cache gets them under the classification rules) and moves
 * the mark, all in one transaction. A run killed half-way therefore resumes after the last
 * committed batch, and a rerun recomputes the same values and writes nothing. The first run of a
 * tenant goes over all its customers by id before it follows the change log.
 *
 * Important: on PostgreSQL the mark row is locked for the batch, so that two backend instances
 * never work on the same tenant at once; on SQLite the IMMEDIATE transaction serialises them.
 */

export interface DerivedJobOptions {
  /** Contact entries (or, in the first run, customers) per transaction. */
  batchSize: number;
  /** The tenant's time zone, for the part of the day. */
  timeZone: string;
  /** Stop after this many batches (the next run carries on); bounds one run's time. */
  maxBatches?: number;
}

export interface DerivedRunResult {
  batches: number;
  /** Customers whose attributes were recomputed. */
  computed: number;
  /** Customers whose attributes changed (written, and sent to the caches). */
  changed: number;
  /** Customers promoted from prospect or new to existing. */
  promoted: number;
  /** Whether the run reached the end of the change log. */
  caughtUp: boolean;
}

const DEFAULT_MAX_BATCHES = 1000;

/** Runs batches for one tenant until it has caught up with the change log (or `maxBatches`). */
export async function runDerivedAttributes(handle: DatabaseHandle, tenantId: string, options: DerivedJobOptions): Promise<DerivedRunResult> {
  const result: DerivedRunResult = { batches: 0, computed: 0, changed: 0, promoted: 0, caughtUp: false };
  const maxBatches = options.maxBatches ?? DEFAULT_MAX_BATCHES;
  while (result.batches < maxBatches) {
    const batch = await writeTransaction(handle, (tx) => runBatch(tx, tenantId, options));
    result.batches += 1;
    result.computed += batch.computed;
    result.changed += batch.changed;
    result.promoted += batch.promoted;
    if (batch.done) {
      result.caughtUp = true;
      break;
    }
  }
  return result;
}

async function runBatch(tx: WriteTx, tenantId: string, options: DerivedJobOptions): Promise<{ done: boolean; computed: number; changed: number; promoted: number }> {
  const trx = derivedTrx(tx.trx);
  const now = new Date().toISOString();
  const tenant = await trx.selectFrom('tenants').select('last_seq').where('id', '=', tenantId).executeTakeFirstOrThrow();
  await trx
    .insertInto('derived_job_marks')
    .values({ tenant_id: tenantId, after_seq: Number(tenant.last_seq), backfill_after_id: '', updated_at: now })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  const markQuery = trx.selectFrom('derived_job_marks').select(['after_seq', 'backfill_after_id']).where('tenant_id', '=', tenantId);
  const mark = await (tx.dialect === 'postgres' ? markQuery.forUpdate() : markQuery).executeTakeFirstOrThrow();

  if (mark.backfill_after_id !== null) {
    const ids = (
      await trx
        .selectFrom('customers')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('id', '>', mark.backfill_after_id)
        .orderBy('id')
        .limit(options.batchSize)
        .execute()
    ).map((row) => row.id);
    const outcome = await recompute(tx, tenantId, ids, options.timeZone);
    const finished = ids.length < options.batchSize;
    await trx
      .updateTable('derived_job_marks')
      .set({ backfill_after_id: finished ? null : ids[ids.length - 1]!, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .execute();
    // The change log is read next, from the sequence the first run started at.
    return { done: false, ...outcome };
  }

  const entries = await trx
    .selectFrom('change_log')
    .select(['seq', 'customer_id'])
    .where('tenant_id', '=', tenantId)
    .where('entity', '=', 'contact')
    .where('seq', '>', Number(mark.after_seq))
    .orderBy('seq')
    .limit(options.batchSize)
    .execute();
  if (entries.length === 0) return { done: true, computed: 0, changed: 0, promoted: 0 };
  const ids = [...new Set(entries.flatMap((entry) => (entry.customer_id === null ? [] : [entry.customer_id])))];
  const outcome = await recompute(tx, tenantId, ids, options.timeZone);
  await trx
    .updateTable('derived_job_marks')
    .set({ after_seq: Number(entries[entries.length - 1]!.seq), updated_at: now })
    .where('tenant_id', '=', tenantId)
    .execute();
  return { done: entries.length < options.batchSize, ...outcome };
}

function sameValues(stored: DerivedAttributes | null, values: DerivedValues): boolean {
  if (stored === null) return false;
  const { computedAt: _computedAt, ...rest } = stored;
  return JSON.stringify(rest) === JSON.stringify(values);
}

/** Recomputes these customers' attributes from their stored history; writes those that changed. */
async function recompute(tx: WriteTx, tenantId: string, customerIds: readonly string[], timeZone: string): Promise<{ computed: number; changed: number; promoted: number }> {
  if (customerIds.length === 0) return { computed: 0, changed: 0, promoted: 0 };
  const trx = derivedTrx(tx.trx);
  const ptrx = portalTrx(tx.trx);
  const ids = [...customerIds];
  const [customers, contacts, webBodies, orders, stored] = await Promise.all([
    trx.selectFrom('customers').select(['id', 'type']).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute(),
    trx
      .selectFrom('contacts')
      .select(['id', 'customer_id', 'kind', 'direction', 'occurred_at'])
      .where('tenant_id', '=', tenantId)
      .where('customer_id', 'in', ids)
      .orderBy('occurred_at')
      .orderBy('id')
      .execute(),
    // Only web contacts' bodies are read: mail bodies can be large and say nothing the rules use.
    trx.selectFrom('contacts').select(['id', 'body']).where('tenant_id', '=', tenantId).where('customer_id', 'in', ids).where('kind', '=', 'web').execute(),
    ptrx
      .selectFrom('portal_orders as o')
      .innerJoin('portal_pages as p', 'p.id', 'o.product_id')
      .select(['o.customer_id', 'o.product_id', 'p.title', 'o.created_at'])
      .where('o.tenant_id', '=', tenantId)
      .where('o.customer_id', 'in', ids)
      .orderBy('o.created_at')
      .orderBy('o.id')
      .execute(),
    trx.selectFrom('customer_derived').select(['customer_id', 'attributes']).where('tenant_id', '=', tenantId).where('customer_id', 'in', ids).execute(),
  ]);
  // Promotions are read back from the audit log, so that they survive even a rebuild of the attributes from nothing.
  const promotions = await tx.trx
    .selectFrom('audit_events')
    .select(['customer_id', 'details'])
    .where('tenant_id', '=', tenantId)
    .where('action', '=', 'customer_type_promoted')
    .where('customer_id', 'in', ids)
    .orderBy('id')
    .execute();
  const promotionOf = new Map<string, DerivedAttributes['promotion']>();
  for (const row of promotions) {
    const parsed = PromotionDetails.safeParse(JSON.parse(row.details));
    if (row.customer_id !== null && parsed.success && !promotionOf.has(row.customer_id)) {
      promotionOf.set(row.customer_id, { from: parsed.data.from, to: parsed.data.to, at: parsed.data.at });
    }
  }
  const products = new Set(
    (await ptrx.selectFrom('portal_pages').select('id').where('tenant_id', '=', tenantId).where('kind', '=', 'product').execute()).map((row) => row.id),
  );
  const bodyOf = new Map(webBodies.map((row) => [row.id, row.body]));
  const storedOf = new Map(stored.map((row) => [row.customer_id, row.attributes]));
  const now = new Date().toISOString();
  let changed = 0;
  let promoted = 0;
  for (const customer of customers) {
    const history: HistoryContact[] = contacts
      .filter((row) => row.customer_id === customer.id)
      .map((row) => ({ kind: row.kind, direction: row.direction, occurredAt: row.occurred_at, body: bodyOf.get(row.id) ?? null }));
    const previous = readDerivedAttributes(storedOf.get(customer.id));
    const { values, promoteTo } = deriveAttributes(
      {
        type: customer.type,
        contacts: history,
        orders: orders.filter((row) => row.customer_id === customer.id).map((row) => ({ productId: row.product_id, title: row.title, createdAt: row.created_at })),
        productIds: products,
        previousPromotion: promotionOf.get(customer.id) ?? null,
      },
      timeZone,
    );
    if (sameValues(previous, values) && promoteTo === null) continue;
    const attributes: DerivedAttributes = { computedAt: now, ...values };
    await trx
      .insertInto('customer_derived')
      .values({ customer_id: customer.id, tenant_id: tenantId, attributes: JSON.stringify(attributes), computed_at: now })
      .onConflict((oc) => oc.column('customer_id').doUpdateSet({ attributes: JSON.stringify(attributes), computed_at: now }))
      .execute();
    if (promoteTo !== null && values.promotion !== null) {
      await promote(tx, tenantId, customer.id, values.promotion, now);
      promoted += 1;
    }
    await tx.recordChange({ tenantId, entity: 'customer', entityId: customer.id, customerId: customer.id, op: 'upsert' });
    changed += 1;
  }
  return { computed: customers.length, changed, promoted };
}

const PromotionDetails = z.object({ from: CustomerType, to: CustomerType, at: IsoTime });

async function promote(tx: WriteTx, tenantId: string, customerId: string, promotion: NonNullable<DerivedAttributes['promotion']>, now: string): Promise<void> {
  await tx.trx.updateTable('customers').set({ type: promotion.to, updated_at: now }).where('tenant_id', '=', tenantId).where('id', '=', customerId).execute();
  await recordAudit(tx.trx, { tenantId, userId: null, action: 'customer_type_promoted', customerId, details: { ...promotion, by: 'derived_attributes' } });
}

/** A burst of changes delays a tenant's run by at most this many debounce periods. */
export const DEBOUNCE_MAX_FACTOR = 10;

export interface DerivedJobSchedule extends DerivedJobOptions {
  /** Every tenant is run this often; 0: never on a timer. */
  intervalMinutes: number;
  /** A tenant is run this long after its change log last moved (at most DEBOUNCE_MAX_FACTOR times it after the first change of a burst); 0: not after writes. */
  debounceMs: number;
}

export interface DerivedJobLogger extends FeedLogger {
  error(details: object, message: string): void;
}

/**
 * Runs the job in the backend process: every tenant on a timer, and a tenant shortly after its
 * change log moved (debounced, so a burst of web activity costs one run). Runs of one tenant
 * never overlap in this process; a run asked for during one follows it.
 *
 * Important: the debounce waits at most DEBOUNCE_MAX_FACTOR × debounceMs after the first change of
 * a burst; a tenant written to more often than debounceMs (a busy contact center) would otherwise
 * never be run after its writes, only by the timer.
 */
export class DerivedJobRunner {
  readonly #handle: DatabaseHandle;
  readonly #schedule: DerivedJobSchedule;
  readonly #log: DerivedJobLogger;
  readonly #feed: ChangeFeed;
  /** Per tenant: the pending run's timer and when the burst's first change came. */
  readonly #debounce = new Map<string, { timer: NodeJS.Timeout; firstAt: number }>();
  readonly #running = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #unsubscribe: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(handle: DatabaseHandle, schedule: DerivedJobSchedule, log: DerivedJobLogger) {
    this.#handle = handle;
    this.#schedule = schedule;
    this.#log = log;
    this.#feed = createChangeFeed(handle, log);
  }

  async start(): Promise<void> {
    if (this.#schedule.debounceMs > 0) {
      await this.#feed.start();
      const tenants = await this.#handle.db.selectFrom('tenants').select('id').execute();
      for (const { id } of tenants) {
        this.#unsubscribe.push(
          this.#feed.subscribe(id, (_seq, rightsOf) => {
            if (rightsOf === undefined) this.#debounced(id);
          }),
        );
      }
    }
    if (this.#schedule.intervalMinutes > 0) {
      this.#timer = setInterval(() => void this.runAll(), this.#schedule.intervalMinutes * 60_000);
      this.#timer.unref();
    }
    void this.runAll();
  }

  /** Runs every tenant now (each after its current run, if one is going). */
  async runAll(): Promise<void> {
    const tenants = await this.#handle.db.selectFrom('tenants').select('id').execute();
    await Promise.all(tenants.map(({ id }) => this.run(id)));
  }

  /** Runs one tenant; resolves when a run that started after this call has ended. */
  run(tenantId: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const current = this.#running.get(tenantId);
    if (current) {
      this.#again.add(tenantId);
      return current.then(() => this.#running.get(tenantId));
    }
    const run = (async () => {
      try {
        do {
          this.#again.delete(tenantId);
          const result = await runDerivedAttributes(this.#handle, tenantId, this.#schedule);
          if (result.changed > 0) this.#log.info({ tenantId, ...result }, 'derived attributes updated');
        } while (this.#again.has(tenantId) && !this.#closed);
      } catch (error) {
        this.#log.error({ err: error, tenantId }, 'derived attributes run failed');
      } finally {
        this.#running.delete(tenantId);
      }
    })();
    this.#running.set(tenantId, run);
    return run;
  }

  #debounced(tenantId: string): void {
    const now = Date.now();
    const pending = this.#debounce.get(tenantId);
    const firstAt = pending?.firstAt ?? now;
    if (pending) clearTimeout(pending.timer);
    const { debounceMs } = this.#schedule;
    const delay = Math.max(0, Math.min(debounceMs, firstAt + DEBOUNCE_MAX_FACTOR * debounceMs - now));
    const timer = setTimeout(() => {
      this.#debounce.delete(tenantId);
      void this.run(tenantId);
    }, delay);
    timer.unref();
    this.#debounce.set(tenantId, { timer, firstAt });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const { timer } of this.#debounce.values()) clearTimeout(timer);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    await Promise.all(this.#running.values());
    await this.#feed.close();
  }
}

const ScheduleEnv = z.object({
  TSUNAGU_DERIVED_INTERVAL_MINUTES: z.coerce.number().int().min(0).max(1440).default(15),
  TSUNAGU_DERIVED_DEBOUNCE_MS: z.coerce.number().int().min(0).max(600_000).default(3000),
  TSUNAGU_DERIVED_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(200),
});

/** The job's schedule from the environment (docs/derived-attributes.md); names the variable that is wrong. */
export function loadDerivedJobSchedule(timeZone: string, env: NodeJS.ProcessEnv = process.env): DerivedJobSchedule {
  const parsed = ScheduleEnv.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`Invalid derived-attributes settings: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  return {
    intervalMinutes: parsed.data.TSUNAGU_DERIVED_INTERVAL_MINUTES,
    debounceMs: parsed.data.TSUNAGU_DERIVED_DEBOUNCE_MS,
    batchSize: parsed.data.TSUNAGU_DERIVED_BATCH_SIZE,
    timeZone,
  };
}
