import type { ColumnType, Kysely, Transaction } from 'kysely';
import type { CustomerType } from '../../../shared/domain.js';
import type { Database } from '../db/schema.js';
import type { CallsTable, MailDatabase, MailTables } from '../mail/schema.js';

/**
 * Table types of telephony (migration 003_telephony) on top of the mail channel's, which
 * created `calls`. Same conventions as db/schema.ts.
 */
type TelephonyTables = MailTables & {
  telephony_settings: TelephonySettingsTable;
  call_dispositions: CallDispositionsTable;
  calls: CallsTelephonyTable;
  routing_groups: RoutingGroupsTable;
  routing_group_members: RoutingGroupMembersTable;
  routing_rules: RoutingRulesTable;
  call_queue: CallQueueTable;
};

export interface TelephonyDatabase extends Omit<MailDatabase, 'calls'> {
  telephony_settings: TelephonySettingsTable;
  call_dispositions: CallDispositionsTable;
  calls: CallsTelephonyTable;
  routing_groups: RoutingGroupsTable;
  routing_group_members: RoutingGroupMembersTable;
  routing_rules: RoutingRulesTable;
  call_queue: CallQueueTable;
}

export function telephonyDb(db: Kysely<Database>): Kysely<TelephonyDatabase> {
  return db.withTables<TelephonyTables>() as unknown as Kysely<TelephonyDatabase>;
}

export function telephonyTrx(trx: Transaction<Database>): Transaction<TelephonyDatabase> {
  return trx.withTables<TelephonyTables>() as unknown as Transaction<TelephonyDatabase>;
}

/** Per-tenant overrides of the telephony defaults; null keeps the default. */
export interface TelephonySettingsTable {
  tenant_id: string;
  customer_id_header: string | null;
  after_call_work_seconds: number | null;
  dtmf_mode: 'rfc4733' | 'info' | null;
  /** How long the PBX rings each routing target before trying the next (009). */
  ring_seconds: number | null;
  /** 1/0: the operator is shown that a supervisor is monitoring; null shows it (018). */
  monitoring_visible_to_operator: ColumnType<number | null, number | null | undefined, number | null>;
  updated_at: string;
}

/** A tenant's own wrap-up codes; a tenant without any uses DEFAULT_DISPOSITIONS. */
export interface CallDispositionsTable {
  tenant_id: string;
  code: string;
  label: string;
  position: number;
}

export type CallStatus = CallsTable['status'];

/**
 * One agent's leg of a call (the PBX forks one Call-ID to several agents, each answering or
 * not), fed by the app's call events and the PBX's CTI events. Its id is derived from
 * (tenant, agent, Call-ID) so both reporters land on the same row (see calls.ts).
 */
export interface CallsTelephonyTable extends CallsTable {
  customer_id: string | null;
  /** `,ringing,answered,`: events already audited for this leg, so a retried report is not audited twice. */
  reported_events: ColumnType<string, string | undefined, string>;
  /** 1 once the agent's app reported the call: the app's wrap-up logs it, not the PBX's report. */
  app_reported: ColumnType<number, number | undefined, number>;
  /** The contact a PBX-reported call became. */
  call_log_contact_id: string | null;
  /** 1 once the PBX (CTI events) reported this leg: what the PBX says outranks the app's word (004). */
  pbx_reported: ColumnType<number, number | undefined, number>;
}

/** A named group of agents that a routing rule sends calls to (009). */
export interface RoutingGroupsTable {
  tenant_id: string;
  name: string;
}

export interface RoutingGroupMembersTable {
  tenant_id: string;
  group_name: string;
  user_id: string;
}

/** Calls of customers of this type are offered to this group first (009). */
export interface RoutingRulesTable {
  tenant_id: string;
  customer_type: CustomerType;
  group_name: string;
}

export type QueueState = 'waiting' | 'delivered' | 'abandoned';

/** A call held by the PBX until an agent is free (009); one row per (tenant, Call-ID). */
export interface CallQueueTable {
  tenant_id: string;
  call_id: string;
  caller: string;
  customer_id: string | null;
  state: QueueState;
  entered_at: string;
  /** Last sign of life from the PBX's hold player; a silent entry stops counting (queue.ts). */
  polled_at: string;
  left_at: string | null;
}
