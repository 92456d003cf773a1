import type { Kysely, Transaction } from 'kysely';
import type { CallMeOutcome, CallMeState } from '../../../shared/callme.js';
import type { Database } from '../db/schema.js';
import type { TelephonyDatabase } from '../telephony/schema.js';

/** Table types of "call me" (migration 021_callme). Same conventions as db/schema.ts. */
export interface CallMeRequestsTable {
  id: string;
  tenant_id: string;
  customer_id: string;
  client_id: string;
  number: string;
  reason: string;
  preferred_at: string | null;
  due_at: string;
  state: CallMeState;
  offered_to: string | null;
  offer_reason: string | null;
  offer_expires_at: string | null;
  /** JSON: userId → when they declined or let the offer run out. */
  passed_by: string;
  accepted_by: string | null;
  accepted_at: string | null;
  call_id: string | null;
  outcome: CallMeOutcome | null;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
}

export interface CallMeHoursTable {
  tenant_id: string;
  time_zone: string;
  /** JSON array of weekday numbers, 0 = Sunday. */
  days: string;
  opens_at: string;
  closes_at: string;
  updated_at: string;
}

export interface CallMeDatabase extends TelephonyDatabase {
  callme_requests: CallMeRequestsTable;
  callme_hours: CallMeHoursTable;
}

export function callmeDb(db: Kysely<Database>): Kysely<CallMeDatabase> {
  return db as unknown as Kysely<CallMeDatabase>;
}

export function callmeTrx(trx: Transaction<Database>): Transaction<CallMeDatabase> {
  return trx as unknown as Transaction<CallMeDatabase>;
}
