import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/** Table types of the user console (migration 029_sip_releases_tenant_zone). Same conventions as db/schema.ts. */
type UserConsoleTables = {
  sip_user_releases: SipUserReleasesTable;
};

export interface UserConsoleDatabase extends Database, UserConsoleTables {}

export function userConsoleTrx(trx: Transaction<Database>): Transaction<UserConsoleDatabase> {
  return trx.withTables<UserConsoleTables>() as unknown as Transaction<UserConsoleDatabase>;
}

export function userConsoleDb(db: Kysely<Database>): Kysely<UserConsoleDatabase> {
  return db.withTables<UserConsoleTables>() as unknown as Kysely<UserConsoleDatabase>;
}

export interface SipUserReleasesTable {
  /** Lower case: SIP users are unique across the PBX whatever their case. */
  sip_user: string;
  /** Who held it: they may take it back at once (their own phone is the one still registered). */
  released_by_user_id: string;
  released_at: string;
}
