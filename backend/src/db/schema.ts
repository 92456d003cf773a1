import type { ColumnType, Generated } from 'kysely';

/**
 * Kysely table types of the central database. The same schema runs on SQLite and
 * PostgreSQL, so it sticks to types both share: text ids (UUIDs), ISO 8601 text
 * timestamps (sortable as text), integers for booleans (0/1) and bigint sequences.
 */
export interface Database {
  tenants: TenantsTable;
  users: UsersTable;
  sessions: SessionsTable;
  customers: CustomersTable;
  customer_phones: CustomerPhonesTable;
  customer_emails: CustomerEmailsTable;
  incidents: IncidentsTable;
  contacts: ContactsTable;
  audit_events: AuditEventsTable;
  change_log: ChangeLogTable;
  push_receipts: PushReceiptsTable;
  login_throttle: LoginThrottleTable;
}

/** bigint columns come back from pg as strings; read them through Number(). */
type BigIntColumn = ColumnType<number | string | bigint, number, number>;

export interface TenantsTable {
  id: string;
  slug: string;
  name: string;
  default_region: string;
  /** Last change-log sequence handed out; bumped under a row lock (see sync/changelog.ts). */
  last_seq: BigIntColumn;
  created_at: string;
  /** Migration 029: IANA zone of the tenant's reports; null: the deployment's TSUNAGU_TIME_ZONE. */
  time_zone: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface UsersTable {
  id: string;
  tenant_id: string;
  login: string;
  display_name: string;
  password_hash: string;
  role: 'agent' | 'supervisor' | 'admin' | 'partner';
  branch: string | null;
  customer_limit_authority: number;
  may_handle_unregistered: number;
  /** Unique across every tenant, case-insensitively (shared/sip-identity.ts); null: no phone. */
  sip_user: string | null;
  /** Calls for you, migration 011: 1 sees the list but may not mark calls handled. */
  calls_view_only: ColumnType<number, number | undefined, number>;
  /** Calls for you, migration 011: 1 lists every branch's calls. */
  calls_all_branches: ColumnType<number, number | undefined, number>;
  disabled: number;
  /** Exchange, migration 023: the partner organisation of a `partner` user; null for staff. */
  partner_org: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  /** SHA-256 of the opaque token; the token itself is never stored. */
  token_hash: string;
  user_id: string;
  tenant_id: string;
  created_at: string;
  expires_at: string;
  /** Last request made with the session (coarse: touched at most once a minute); null until then. */
  last_used_at: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface CustomersTable {
  id: string;
  tenant_id: string;
  code: string;
  name: string;
  name_kana: string;
  postal_code: string;
  address: string;
  branch: string | null;
  assigned_rep_id: string | null;
  classification: number;
  type: 'new' | 'prospect' | 'existing' | 'dealer' | 'agency';
  created_at: string;
  updated_at: string;
}

export interface CustomerPhonesTable {
  customer_id: string;
  tenant_id: string;
  position: number;
  e164: string;
  kind: 'landline' | 'mobile';
}

export interface CustomerEmailsTable {
  customer_id: string;
  tenant_id: string;
  position: number;
  email: string;
}

export interface IncidentsTable {
  id: string;
  tenant_id: string;
  customer_id: string;
  title: string;
  status: 'open' | 'closed';
  assignee_id: string | null;
  opened_at: string;
  closed_at: string | null;
  updated_at: string;
}

export interface ContactsTable {
  id: string;
  tenant_id: string;
  incident_id: string;
  customer_id: string;
  kind: 'call' | 'email' | 'fax' | 'web' | 'visit' | 'seminar' | 'note';
  direction: 'inbound' | 'outbound' | 'internal';
  occurred_at: string;
  agent_id: string | null;
  summary: string;
  body: string;
  /** JSON text of CallMeta, or null. */
  call_meta: string | null;
  created_at: string;
}

export interface AuditEventsTable {
  id: Generated<number>;
  tenant_id: string;
  user_id: string | null;
  action: string;
  customer_id: string | null;
  /** JSON text with action-specific details (never secrets). */
  details: string;
  at: string;
}

export interface ChangeLogTable {
  tenant_id: string;
  seq: BigIntColumn;
  /** `branch_call` (migration 014): entity_id is the call's key; customer_id null for an unknown caller. */
  entity: 'customer' | 'incident' | 'contact' | 'branch_call';
  entity_id: string;
  customer_id: string | null;
  op: 'upsert' | 'delete';
  /**
   * 1 when a customer upsert changed what decides visibility (classification, branch): the
   * feed then sends the whole record to users who may now see it, or `delete_customer` to
   * those who no longer may.
   */
  visibility_changed: ColumnType<number, number | undefined, number>;
  /**
   * JSON `{ classification, branch }` of the customer before a visibility change: the feed sends
   * `delete_customer` only to users who could see it then. Null on other entries and on entries
   * older than migration 004.
   */
  visibility_before: ColumnType<string | null, string | null | undefined, string | null>;
  at: string;
}

/** Failed logins of one throttled key (`account:…` or `address:…`), shared by every backend instance. */
export interface LoginThrottleTable {
  key: string;
  failures: number;
  window_started_at: string;
  locked_until: string | null;
}

export interface PushReceiptsTable {
  tenant_id: string;
  client_id: string;
  user_id: string;
  contact_id: string | null;
  status: 'applied' | 'rejected';
  error: string | null;
  at: string;
}
