import type { ColumnType, Kysely, Transaction } from 'kysely';
import type { AgentStatus, ReplyState } from '../../../shared/api.js';
import type { Database, IncidentsTable } from '../db/schema.js';

/**
 * Table types of the e-mail channel (migration 002_mail). Same conventions as db/schema.ts:
 * text ids, ISO 8601 text timestamps (they sort as text, so lease expiry is a text
 * comparison), 0/1 integers for booleans, blobs as Buffer (BLOB on SQLite, bytea on pg).
 */
export type MailTables = {
  incidents: IncidentRefColumns;
  incident_ref_counters: IncidentRefCountersTable;
  mail_addresses: MailAddressesTable;
  mail_settings: MailSettingsTable;
  mail_messages: MailMessagesTable;
  mail_attachments: MailAttachmentsTable;
  mail_templates: MailTemplatesTable;
  mail_replies: MailRepliesTable;
  agent_presence: AgentPresenceTable;
  calls: CallsTable;
};

/** The central database with the e-mail channel's tables and columns. */
export interface MailDatabase extends Database, Omit<MailTables, 'incidents'> {
  incidents: IncidentsTable & IncidentRefColumns;
}

export function mailDb(db: Kysely<Database>): Kysely<MailDatabase> {
  return db.withTables<MailTables>() as unknown as Kysely<MailDatabase>;
}

export function mailTrx(trx: Transaction<Database>): Transaction<MailDatabase> {
  return trx.withTables<MailTables>() as unknown as Transaction<MailDatabase>;
}

export interface IncidentRefColumns {
  /** Per-tenant human reference (`INC-123`); given lazily to incidents made elsewhere. */
  ref_no: number | null;
  /**
   * The random part of the incident's subject token (`[#INC-123-K7QX9M2P]`, migration 006):
   * without it a token is a guess. Given with the first token, like `ref_no`.
   */
  ref_key: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface IncidentRefCountersTable {
  tenant_id: string;
  last_ref: number;
}

export const MAIL_ADDRESS_KINDS = ['support', 'fax'] as const;
export type MailAddressKind = (typeof MAIL_ADDRESS_KINDS)[number];

export interface MailAddressesTable {
  /** Lower-cased; an address belongs to exactly one tenant, which is how RCPT finds the tenant. */
  address: string;
  tenant_id: string;
  kind: MailAddressKind;
  created_at: string;
}

/** Per-tenant overrides of the dispatch defaults in the mail config; null keeps the default. */
export interface MailSettingsTable {
  tenant_id: string;
  lease_seconds: number | null;
  busy_calls_per_agent: number | null;
  updated_at: string;
}

export type MailQueueState = 'waiting' | 'answered' | 'closed';
export type ThreadMatch = 'in_reply_to' | 'references' | 'subject_token' | 'sender' | 'new_customer';
export type MailMatchState = 'matched' | 'needs_matching';
/**
 * Why a mail waits for an operator to match it. unknown_sender: it points at an incident but
 * its sender is not one of that customer's addresses. customer_mismatch: the sender is another
 * customer's address. unverified_token: its subject token lacks the incident's key (old or guessed).
 */
export type MailMatchProblem = 'unknown_sender' | 'customer_mismatch' | 'unverified_token';

export interface MailMessagesTable {
  id: string;
  tenant_id: string;
  kind: 'email' | 'fax';
  /** Without angle brackets; a synthetic `sha256-…@tsunagu.invalid` when the mail had none. */
  message_id: string;
  in_reply_to: string | null;
  /** JSON array of message ids. */
  references_ids: string;
  from_address: string;
  from_name: string;
  reply_to: string | null;
  /** JSON array of addresses. */
  to_addresses: string;
  cc_addresses: string;
  /** Our address the mail was delivered to; replies are sent from it. */
  recipient_address: string;
  subject: string;
  /** The Date header (sender's clock), if it parsed. */
  date_header: string | null;
  received_at: string;
  text_body: string;
  html_sanitized: string | null;
  raw: Buffer;
  raw_size: number;
  raw_truncated: number;
  thread_match: ThreadMatch;
  customer_id: string;
  incident_id: string;
  contact_id: string;
  queue_state: MailQueueState;
  /** Last handler of the customer when the mail arrived: dispatch offers it to them first. */
  preferred_user_id: string | null;
  lease_user_id: string | null;
  lease_expires_at: string | null;
  /**
   * The lease holder's last heartbeat, copied onto the row so that whether a lease is still
   * held is decided by the row's own columns (see dispatch.ts for why that matters on pg).
   */
  lease_seen_at: string | null;
  leased_at: string | null;
  offer_count: ColumnType<number, number | undefined, number>;
  handled_by: string | null;
  handled_at: string | null;
  close_note: string | null;
  /** Migration 006: until matched, the mail is filed with its sender and not offered. */
  match_state: ColumnType<MailMatchState, MailMatchState | undefined, MailMatchState>;
  match_problem: ColumnType<MailMatchProblem | null, MailMatchProblem | null | undefined, MailMatchProblem | null>;
  /** The incident the mail's headers or subject token point at (where it did not go). */
  claimed_incident_id: ColumnType<string | null, string | null | undefined, string | null>;
  matched_by: ColumnType<string | null, string | null | undefined, string | null>;
  matched_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** 1 when the sanitiser could not keep all of the HTML part's text. */
  html_lost_text: ColumnType<number, number | undefined, number>;
  /** Migration 024: a fax's sender number (E.164) as its gateway named it; null for e-mail or when none was named. */
  fax_sender: ColumnType<string | null, string | null | undefined, string | null>;
}

export type AttachmentRejection = 'too_large' | 'type_not_allowed' | 'too_many';

export interface MailAttachmentsTable {
  id: string;
  tenant_id: string;
  mail_id: string;
  position: number;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  /** Null when the attachment was refused: only its metadata is kept. */
  content: Buffer | null;
  rejected_reason: AttachmentRejection | null;
  content_id: string | null;
}

export interface MailTemplatesTable {
  id: string;
  tenant_id: string;
  name: string;
  subject: string;
  body: string;
  created_at: string;
  updated_at: string;
}

/** rejected: the relay refused it (5xx). interrupted: the sender died mid-transmission. gave_up: too many 4xx. */
export type ReplyFailure = 'rejected' | 'interrupted' | 'gave_up';

export interface MailRepliesTable {
  id: string;
  tenant_id: string;
  /** The inbound mail it answers; null for a mail to a caller (then `call_key` is set). */
  mail_id: string | null;
  /** The "calls for you" call it answers (Call-ID or leg id); exactly one origin is set. */
  call_key: string | null;
  incident_id: string;
  customer_id: string;
  author_id: string;
  state: ReplyState;
  subject: string;
  body: string;
  /** The body as the author submitted it; differs from `body` when the reviewer edited it. */
  submitted_body: string | null;
  template_id: string | null;
  to_address: string;
  from_address: string;
  /** Ours, without angle brackets; fixed at approval, before any attempt to send. */
  message_id: string | null;
  in_reply_to: string | null;
  references_ids: string;
  review_comment: string | null;
  reviewer_id: string | null;
  reviewed_at: string | null;
  edited_by_reviewer: number;
  submitted_at: string | null;
  claim_id: string | null;
  claimed_at: string | null;
  /** Set just before the message is handed to the relay: after it, a crash means "maybe sent". */
  transmit_started_at: string | null;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  failure: ReplyFailure | null;
  sent_at: string | null;
  contact_id: string | null;
  created_at: string;
  updated_at: string;
}


export interface AgentPresenceTable {
  user_id: string;
  tenant_id: string;
  status: AgentStatus;
  /** When the current status began. */
  since: string;
  last_seen_at: string;
  /** When the app says the status in force was chosen (migration 008); null when it did not say. */
  status_changed_at: string | null;
}

/** Minimal call state, filled by the PBX integration; dispatch reads it to pause mail offers. */
export interface CallsTable {
  id: string;
  tenant_id: string;
  /** The SIP Call-ID. */
  external_id: string | null;
  status: 'ringing' | 'connected' | 'ended';
  direction: 'inbound' | 'outbound';
  agent_id: string | null;
  from_number: string;
  to_number: string;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  updated_at: string;
}
