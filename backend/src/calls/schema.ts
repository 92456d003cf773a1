import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { TelephonyDatabase } from '../telephony/schema.js';

/** The callbacks table of migration 007, on top of telephony's tables. Same conventions as db/schema.ts. */
export interface CallbacksTable {
  /** The wrap-up's outbox clientId. */
  id: string;
  tenant_id: string;
  customer_id: string;
  call_id: string | null;
  contact_id: string | null;
  remote: string;
  flagged_by: string;
  flagged_at: string;
  due_at: string | null;
  done_at: string | null;
  done_by: string | null;
  done_reason: 'called' | 'marked' | null;
  done_contact_id: string | null;
}

export interface CallsDatabase extends TelephonyDatabase {
  callbacks: CallbacksTable;
}

export function callsDb(db: Kysely<Database>): Kysely<CallsDatabase> {
  return db as unknown as Kysely<CallsDatabase>;
}

export function callsTrx(trx: Transaction<Database>): Transaction<CallsDatabase> {
  return trx as unknown as Transaction<CallsDatabase>;
}
