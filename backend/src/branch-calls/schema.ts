import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { TelephonyDatabase } from '../telephony/schema.js';

/** Table types of "calls for you" (migration 011_calls_for_you). Same conventions as db/schema.ts. */
type BranchCallsTables = {
  call_handling: CallHandlingTable;
  seminars: SeminarsTable;
  seminar_bookings: SeminarBookingsTable;
  callback_templates: CallbackTemplatesTable;
};

export interface BranchCallsDatabase extends TelephonyDatabase, BranchCallsTables {}

export function branchCallsDb(db: Kysely<Database>): Kysely<BranchCallsDatabase> {
  return db.withTables<BranchCallsTables>() as unknown as Kysely<BranchCallsDatabase>;
}

export function branchCallsTrx(trx: Transaction<Database>): Transaction<BranchCallsDatabase> {
  return trx.withTables<BranchCallsTables>() as unknown as Transaction<BranchCallsDatabase>;
}

/** One row per handled call (all its legs): the primary key makes a call handled once. */
export interface CallHandlingTable {
  tenant_id: string;
  call_key: string;
  customer_id: string;
  kind: 'contact' | 'visit' | 'seminar';
  contact_id: string;
  /** The outbox entry that handled it. */
  client_id: string;
  handled_by: string;
  handled_at: string;
}

export interface SeminarsTable {
  id: string;
  tenant_id: string;
  title: string;
  starts_at: string;
  place: string;
  capacity: number;
  /** Booked seats; raised in one conditional UPDATE so two bookings never overfill a seminar. */
  seats_taken: number;
  created_at: string;
}

export interface SeminarBookingsTable {
  id: string;
  tenant_id: string;
  seminar_id: string;
  customer_id: string;
  seats: number;
  contact_id: string;
  booked_by: string;
  booked_at: string;
}

export interface CallbackTemplatesTable {
  tenant_id: string;
  subject: string;
  body: string;
  updated_by: string;
  updated_at: string;
}
