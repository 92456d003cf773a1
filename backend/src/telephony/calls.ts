import { createHash } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { AuditAction } from '../../../shared/domain.js';
import type { CALL_EVENTS } from '../../../shared/ipc.js';
import { recordAudit } from '../audit.js';
import { recordBranchCallChange } from '../branch-calls/load.js';
import type { Database } from '../db/schema.js';
import type { WriteTx } from '../sync/changelog.js';
import { telephonyDb, telephonyTrx, type CallStatus, type CallsTelephonyTable } from './schema.js';

/** The app's events, and the PBX's `abandoned`: the caller hung up before anyone answered. */
export type CallEvent = (typeof CALL_EVENTS)[number] | 'abandoned';
export type CallRow = Selectable<CallsTelephonyTable>;

/**
 * One report of a call event, from the agent's app or from the PBX. Reports are idempotent:
 * the same event of the same leg is audited once, however often it is reported (the app
 * retries after a lost response; the PBX may report calls the app reports too).
 */
export interface CallReport {
  tenantId: string;
  /** The agent whose leg this is; null when the PBX reports a call nobody in Tsunagu took. */
  agentId: string | null;
  callId: string;
  event: CallEvent;
  direction: 'inbound' | 'outbound';
  /** The customer's side: E.164 when it parsed, else as received. */
  remote: string;
  /** The agent's side (SIP user or number), for the call log. */
  local: string;
  customerId: string | null;
  /** When it happened, by the reporter's clock. */
  at: string;
  transferTarget?: string;
  source: 'app' | 'pbx';
}

const STATUS_AFTER: Record<CallEvent, CallStatus> = {
  ringing: 'ringing',
  answered: 'connected',
  missed: 'ended',
  rejected: 'ended',
  transferred: 'ended',
  ended: 'ended',
  abandoned: 'ended',
};
const RANK: Record<CallStatus, number> = { ringing: 0, connected: 1, ended: 2 };

// A declined call is, for the audit trail, a call the customer did not get through on.
const AUDIT_ACTION: Record<CallEvent, AuditAction> = {
  ringing: 'call_ringing',
  answered: 'call_answered',
  missed: 'call_missed',
  rejected: 'call_missed',
  transferred: 'call_transferred',
  ended: 'call_ended',
  abandoned: 'call_abandoned',
};

/**
 * A ringing leg older than this was never closed (an app that crashed while it rang). The PBX
 * gives up ringing after 90 s (fr_inv_timer), so such a row is stale; left alone it would
 * count as a waiting call and pause mail dispatch forever.
 */
export const STALE_RINGING_SECONDS = 120;

/** A tenant whose PBX reported a call within this window has a reporting PBX. */
const PBX_REPORTING_WINDOW_SECONDS = 24 * 3600;

/**
 * Calls ringing right now, as the mail dispatch counts them ("call volume" pauses offering).
 *
 * - Only legs reported within STALE_RINGING_SECONDS (by the server's clock, `updated_at`, not
 *   the reporter's `at`) count: a leg nobody closed stops counting by itself.
 * - Where the tenant's PBX reports calls (CTI events within the last day), only the legs it
 *   reported count: an agent's app cannot add calls the PBX never saw.
 * - Otherwise the agents' apps are all there is, and each agent counts at most once: one
 *   account posting many "ringing" events is one ringing phone (a leg of nobody counts alone).
 */
export async function ringingCallVolume(db: Kysely<Database>, tenantId: string, now: string): Promise<number> {
  const calls = telephonyDb(db);
  const freshSince = new Date(Date.parse(now) - STALE_RINGING_SECONDS * 1000).toISOString();
  const pbxSince = new Date(Date.parse(now) - PBX_REPORTING_WINDOW_SECONDS * 1000).toISOString();
  const pbxReports = await calls
    .selectFrom('calls')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('pbx_reported', '=', 1)
    .where('updated_at', '>', pbxSince)
    .limit(1)
    .executeTakeFirst();
  const ringing = calls
    .selectFrom('calls')
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'ringing')
    .where('updated_at', '>', freshSince);
  if (pbxReports) {
    const row = await ringing.where('pbx_reported', '=', 1).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
  const agents = await ringing.select((eb) => eb.fn.count<number | string>('agent_id').distinct().as('n')).executeTakeFirstOrThrow();
  const unassigned = await ringing.where('agent_id', 'is', null).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  return Number(agents.n) + Number(unassigned.n);
}

/**
 * The row id of a leg: derived from (tenant, agent, Call-ID), so that the app's and the PBX's
 * reports of one leg meet on one row through the primary key on either dialect, with no
 * read-then-insert race.
 */
export function callRowId(tenantId: string, agentId: string | null, callId: string): string {
  const digest = createHash('sha256').update(JSON.stringify([tenantId, agentId, callId])).digest('hex');
  return `call-${digest.slice(0, 40)}`;
}

/**
 * Records one report in `calls` (status only moves forward: ringing → connected → ended) and
 * audits it unless this leg's event was already audited. Returns the leg as it now stands and
 * as it stood before this report.
 */
export async function recordCallReport(tx: WriteTx, report: CallReport): Promise<{ row: CallRow; before: CallRow; audited: boolean }> {
  const trx = telephonyTrx(tx.trx);
  const id = callRowId(report.tenantId, report.agentId, report.callId);
  const now = new Date().toISOString();
  const status = STATUS_AFTER[report.event];
  const inbound = report.direction === 'inbound';
  await trx
    .insertInto('calls')
    .values({
      id,
      tenant_id: report.tenantId,
      external_id: report.callId,
      status: 'ringing',
      direction: report.direction,
      agent_id: report.agentId,
      from_number: inbound ? report.remote : report.local,
      to_number: inbound ? report.local : report.remote,
      started_at: report.at,
      answered_at: null,
      ended_at: null,
      updated_at: now,
      customer_id: report.customerId,
      reported_events: '',
      app_reported: 0,
      call_log_contact_id: null,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const query = trx.selectFrom('calls').selectAll().where('id', '=', id);
  // The row lock serialises two reports of one leg arriving at two backend instances.
  const before = await (tx.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirstOrThrow();

  const alreadyAudited = before.reported_events.split(',').includes(report.event);
  const nextStatus = RANK[status] > RANK[before.status] ? status : before.status;
  const ended = status === 'ended';
  // Reports may arrive out of order (the PBX's events travel apart): the call began at the
  // earliest time anyone reported for it.
  const startedAt = Date.parse(report.at) < Date.parse(before.started_at) ? report.at : before.started_at;
  const row = await trx
    .updateTable('calls')
    .set({
      status: nextStatus,
      started_at: startedAt,
      answered_at: before.answered_at ?? (report.event === 'answered' ? report.at : null),
      ended_at: before.ended_at ?? (ended ? report.at : null),
      customer_id: before.customer_id ?? report.customerId,
      reported_events: alreadyAudited ? before.reported_events : `${before.reported_events},${report.event},`.replace(/,,+/g, ','),
      app_reported: report.source === 'app' ? 1 : before.app_reported,
      pbx_reported: report.source === 'pbx' ? 1 : before.pbx_reported,
      updated_at: now,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();

  await recordBranchCallChange(tx, {
    tenantId: report.tenantId,
    key: row.external_id ?? row.id,
    customerId: row.customer_id,
    direction: row.direction,
    matched: before.customer_id === null && row.customer_id !== null,
  });

  if (report.event === 'ringing' && report.agentId !== null) {
    const staleBefore = new Date(Date.parse(now) - STALE_RINGING_SECONDS * 1000).toISOString();
    const ended = await trx
      .updateTable('calls')
      .set({ status: 'ended', ended_at: now, updated_at: now })
      .where('agent_id', '=', report.agentId)
      .where('status', '=', 'ringing')
      .where('started_at', '<', staleBefore)
      .where('id', '!=', id)
      .returning(['id', 'external_id', 'customer_id', 'direction'])
      .execute();
    for (const leg of ended) {
      await recordBranchCallChange(tx, { tenantId: report.tenantId, key: leg.external_id ?? leg.id, customerId: leg.customer_id, direction: leg.direction });
    }
  }

  if (!alreadyAudited) {
    await recordAudit(tx.trx, {
      tenantId: report.tenantId,
      userId: report.agentId,
      action: AUDIT_ACTION[report.event],
      customerId: report.customerId ?? row.customer_id,
      details: {
        callId: report.callId,
        direction: report.direction,
        remote: report.remote,
        at: report.at,
        source: report.source,
        ...(report.event === 'rejected' ? { reason: 'rejected' } : {}),
        ...(report.transferTarget !== undefined ? { transferTarget: report.transferTarget } : {}),
        ...(row.answered_at !== null ? { answeredAt: row.answered_at } : {}),
        ...(row.ended_at !== null ? { startedAt: row.started_at, endedAt: row.ended_at } : {}),
      },
    });
  }
  return { row, before, audited: !alreadyAudited };
}
