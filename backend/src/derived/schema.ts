import type { ColumnType, Kysely, Transaction } from 'kysely';
import { DerivedAttributes } from '../../../shared/domain.js';
import type { Database } from '../db/schema.js';

/** Table types of the derived attributes (migration 025_derived_attributes). Same conventions as db/schema.ts. */
type DerivedTables = {
  customer_derived: CustomerDerivedTable;
  derived_job_marks: DerivedJobMarksTable;
};

export interface DerivedDatabase extends Database, DerivedTables {}

export function derivedDb(db: Kysely<Database>): Kysely<DerivedDatabase> {
  return db.withTables<DerivedTables>() as unknown as Kysely<DerivedDatabase>;
}

export function derivedTrx(trx: Transaction<Database>): Transaction<DerivedDatabase> {
  return trx.withTables<DerivedTables>() as unknown as Transaction<DerivedDatabase>;
}

export interface CustomerDerivedTable {
  customer_id: string;
  tenant_id: string;
  /** JSON of DerivedAttributes (shared/domain.ts). */
  attributes: string;
  computed_at: string;
}

export interface DerivedJobMarksTable {
  tenant_id: string;
  /** The change-log sequence read up to; bigint, read through Number(). */
  after_seq: ColumnType<number | string | bigint, number, number>;
  /** The first run's progress over customers by id: '' before the first, null once done. */
  backfill_after_id: string | null;
  updated_at: string;
}

/** Stored attributes as the shared type; null for none or for a row an older rule wrote in another shape. */
export function readDerivedAttributes(text: string | undefined): DerivedAttributes | null {
  if (text === undefined) return null;
  try {
    const parsed = DerivedAttributes.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
