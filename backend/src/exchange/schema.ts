import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/schema.js';

/** Tables of migration 023_exchange. Same conventions as db/schema.ts. */
export interface ExchangeExportsTable {
  id: string;
  tenant_id: string;
  title: string;
  created_by: string;
  created_at: string;
  /** JSON of the ExchangeFilter it was built with. */
  filter: string;
  /** JSON of the resolved ExchangePolicy. */
  policy: string;
  record_count: number;
  content_json: string;
  content_csv: string;
}

export interface ExchangeSharesTable {
  export_id: string;
  tenant_id: string;
  partner_org: string;
  shared_by: string;
  shared_at: string;
}

export type ExchangeExportRow = Selectable<ExchangeExportsTable>;

export interface ExchangeDatabase extends Database {
  exchange_exports: ExchangeExportsTable;
  exchange_shares: ExchangeSharesTable;
}

export function exchangeDb(db: Kysely<Database>): Kysely<ExchangeDatabase> {
  return db as unknown as Kysely<ExchangeDatabase>;
}
