import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/** Table types of the customer portal (migration 019_portal). Same conventions as db/schema.ts. */
type PortalTables = {
  portal_accounts: PortalAccountsTable;
  portal_sessions: PortalSessionsTable;
  portal_login_codes: PortalLoginCodesTable;
  portal_media: PortalMediaTable;
  portal_pages: PortalPagesTable;
  portal_page_customers: PortalPageCustomersTable;
  portal_events: PortalEventsTable;
  portal_orders: PortalOrdersTable;
  customer_products: CustomerProductsTable;
};

export interface PortalDatabase extends Database, PortalTables {}

export function portalDb(db: Kysely<Database>): Kysely<PortalDatabase> {
  return db.withTables<PortalTables>() as unknown as Kysely<PortalDatabase>;
}

export function portalTrx(trx: Transaction<Database>): Transaction<PortalDatabase> {
  return trx.withTables<PortalTables>() as unknown as Transaction<PortalDatabase>;
}

export interface PortalAccountsTable {
  customer_id: string;
  tenant_id: string;
  rank: number;
  password_hash: string | null;
  /** SHA-256 of the invitation link's token; null once used. */
  invitation_hash: string | null;
  invitation_expires_at: string | null;
  updated_at: string;
}

export interface PortalSessionsTable {
  /** SHA-256 of the cookie's token; the token itself is never stored. */
  token_hash: string;
  tenant_id: string;
  customer_id: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

export interface PortalLoginCodesTable {
  id: string;
  tenant_id: string;
  customer_id: string;
  code_hash: string;
  attempts: number;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

export interface PortalMediaTable {
  id: string;
  tenant_id: string;
  content_type: string;
  bytes: Buffer | Uint8Array;
  created_at: string;
}

export interface PortalPagesTable {
  id: string;
  tenant_id: string;
  kind: 'page' | 'product';
  slug: string;
  title: string;
  body_markdown: string;
  /** Rendered with marked and sanitised when saved. */
  body_html: string;
  /** JSON array of portal_media ids. */
  image_ids: string;
  video_id: string | null;
  /** JSON array of VideoHotspot. */
  hotspots: string;
  price_yen: number | null;
  min_rank: number;
  /** 1: only the customers in portal_page_customers see it. */
  restricted: number;
  published: number;
  created_at: string;
  updated_at: string;
  /** Migration 025: set when an admin deleted it; the row stays for the orders and activity that name it. */
  deleted_at: string | null;
}

export interface PortalPageCustomersTable {
  page_id: string;
  customer_id: string;
  tenant_id: string;
}

export interface PortalEventsTable {
  tenant_id: string;
  customer_id: string;
  client_id: string;
  kind: string;
  page_id: string;
  contact_id: string | null;
  occurred_at: string;
  received_at: string;
}

export interface PortalOrdersTable {
  id: string;
  tenant_id: string;
  customer_id: string;
  client_id: string;
  product_id: string;
  quantity: number;
  note: string;
  contact_id: string;
  confirmation: 'pending' | 'sent' | 'failed' | 'no_address';
  created_at: string;
}

export interface CustomerProductsTable {
  customer_id: string;
  product_id: string;
  tenant_id: string;
  quantity: number;
  first_ordered_at: string;
  last_ordered_at: string;
}
