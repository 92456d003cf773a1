import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/** Table types of the report rollup (migration 028_report_rollup). Same conventions as db/schema.ts. */
export type ReportTables = {
  report_changes: ReportChangesTable;
  report_rollup_days: ReportRollupDaysTable;
  report_rollup: ReportRollupTable;
};

export interface ReportDatabase extends Database, ReportTables {}

export function reportDb(db: Kysely<Database>): Kysely<ReportDatabase> {
  return db.withTables<ReportTables>() as unknown as Kysely<ReportDatabase>;
}

export function reportTrx(trx: Transaction<Database>): Transaction<ReportDatabase> {
  return trx.withTables<ReportTables>() as unknown as Transaction<ReportDatabase>;
}

/** Bumped by triggers whenever a row counted on that UTC day changes ('*': what a group is). */
export interface ReportChangesTable {
  tenant_id: string;
  utc_day: string;
  /** bigint: PostgreSQL returns it as text. */
  version: number | string;
}

export interface ReportRollupDaysTable {
  tenant_id: string;
  time_zone: string;
  day: string;
  source_version: number | string;
  built_at: string;
}

/** The additive figures of one group on one local day (see PARTIAL_COLUMNS in queries.ts). */
export interface ReportRollupTable {
  tenant_id: string;
  time_zone: string;
  day: string;
  grouping: 'operator' | 'branch';
  group_key: string;
  answered: number;
  missed: number;
  abandoned: number;
  handle_ms: number | string;
  handle_n: number;
  wait_ms: number | string;
  wait_n: number;
  received: number;
  replied: number;
  review_ms: number | string;
  review_n: number;
  returned: number;
  handled: number;
  unhandled: number;
  unhandled_carried: number;
  done: number;
  overdue: number;
}
