import type { Kysely, Transaction } from 'kysely';
import type { PortalDatabase } from '../portal/schema.js';
import type { Database } from '../db/schema.js';
import type { RepRequestKind, RoutedBy } from '../../../shared/rep-requests.js';

/** Table types of "contact my rep" (migration 020_rep_requests). Same conventions as db/schema.ts. */
type RepRequestTables = {
  rep_requests: RepRequestsTable;
  rep_coverage: RepCoverageTable;
  rep_routing_settings: RepRoutingSettingsTable;
  rep_mail_addresses: RepMailAddressesTable;
};

export interface RepRequestDatabase extends PortalDatabase, RepRequestTables {}

export function repRequestDb(db: Kysely<Database>): Kysely<RepRequestDatabase> {
  return db.withTables<RepRequestTables>() as unknown as Kysely<RepRequestDatabase>;
}

export function repRequestTrx(trx: Transaction<Database>): Transaction<RepRequestDatabase> {
  return trx.withTables<RepRequestTables>() as unknown as Transaction<RepRequestDatabase>;
}

export interface RepRequestsTable {
  id: string;
  tenant_id: string;
  customer_id: string;
  /** The portal page's id for this request: sent again, it is answered with the first one. */
  client_id: string;
  kind: RepRequestKind;
  product_id: string | null;
  /** JSON: the customer's message, preferences and (address changes) the addresses. */
  details: string;
  routed_to: string | null;
  routed_by: RoutedBy;
  region: string | null;
  mail_status: 'pending' | 'sent' | 'failed' | 'no_address';
  created_at: string;
}

export interface RepCoverageTable {
  tenant_id: string;
  region: string;
  product_id: string;
  rep_id: string;
}

export interface RepRoutingSettingsTable {
  tenant_id: string;
  fallback_user_id: string | null;
  info_manager_email: string | null;
  mail_subject: string;
  mail_body: string;
  updated_by: string;
  updated_at: string;
}

export interface RepMailAddressesTable {
  user_id: string;
  tenant_id: string;
  email: string;
}
