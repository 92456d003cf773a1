import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { Id, IsoTime, type Classification, type User } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import { SIP_USER_PATTERN } from '../../../shared/sip-identity.js';
import { recordAudit } from '../audit.js';
import { insertContact, insertIncident } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { addSeconds, databaseNow } from '../mail/clock.js';
import { writeTransaction, type WriteTx } from '../sync/changelog.js';
import { toUser } from '../users/users.js';
import { recordCallReport, type CallRow } from './calls.js';
import { sipUserOf } from './credentials.js';
import { matchCaller, normaliseNumber } from './customers.js';
import { telephonyDb, telephonyTrx } from './schema.js';

/**
 * The backend as the PBX's CTI server. The PBX authenticates with the CTI token (not a user's
 * session) and names the tenant by its slug: one PBX may serve several tenants.
 */

const TenantSlug = z.string().trim().min(1).max(100);
const SipUserPart = z.string().regex(SIP_USER_PATTERN, 'must be a SIP user part (letters, digits, . _ ~ + -)');

/** GET /api/cti/route: which agent should get this call. */
export const CtiRouteQuery = z.object({
  tenant: TenantSlug,
  /** The caller's number as the PBX has it (From / P-Asserted-Identity user part). */
  caller: z.string().max(100).default(''),
  /** The number dialled (the DID), for the audit trail. */
  called: z.string().max(100).default(''),
  /** A customer id collected by the IVR; wins over the number. */
  customerId: Id.optional(),
  callId: z.string().min(1).max(200).optional(),
});
export type CtiRouteQuery = z.infer<typeof CtiRouteQuery>;

export const ROUTING_REASONS = ['last_handler', 'assigned_rep', 'available_agent', 'none'] as const;
export type RoutingReason = (typeof ROUTING_REASONS)[number];

export interface RoutedAgent {
  userId: string;
  login: string;
  /** Where the PBX sends the call: sip:<sipUser>@<its domain>; unique across the PBX (shared/sip-identity.ts). */
  sipUser: string;
  displayName: string;
}

export interface CtiRouteResponse {
  customerId: string | null;
  agent: RoutedAgent | null;
  reason: RoutingReason;
}

/** POST /api/cti/events: a call as the PBX saw it, typically to a rep who does not use the app. */
export const CtiEventInput = z
  .object({
    tenant: TenantSlug,
    callId: z.string().min(1).max(200),
    event: z.enum(['ringing', 'answered', 'missed', 'ended']),
    direction: z.enum(['inbound', 'outbound']).default('inbound'),
    caller: z.string().max(100),
    called: z.string().max(100),
    /** The SIP user of the rep whose phone it was (never a login); null for a call nobody took. */
    agent: SipUserPart.nullable().default(null),
    customerId: Id.nullable().default(null),
    /** Defaults to the time the backend received it. */
    at: IsoTime.optional(),
  })
  .strict();
export type CtiEventInput = z.infer<typeof CtiEventInput>;

export interface CtiEventResponse {
  callId: string;
  agentId: string | null;
  customerId: string | null;
  status: CallRow['status'];
  /** The contact this call became in the customer's history (ended or missed, matched, not reported by the app). */
  callLogContactId: string | null;
}

/** The incident PBX-reported calls of a customer are logged in while it is open. */
export const CALL_LOG_INCIDENT_TITLE = '電話記録（PBX）';

interface TenantRow {
  id: string;
  slug: string;
  defaultRegion: string;
}

async function tenantBySlug(db: Kysely<Database>, slug: string): Promise<TenantRow> {
  const row = await db.selectFrom('tenants').select(['id', 'slug', 'default_region']).where('slug', '=', slug).executeTakeFirst();
  if (!row) throw new HttpError('not_found', 'tenant: no such tenant');
  return { id: row.id, slug: row.slug, defaultRegion: row.default_region };
}

interface Candidate {
  user: User;
  sipUser: string;
}

/**
 * Agents the PBX may ring now: status `available` in the app, heartbeat fresh, enabled, with a
 * SIP user; the longest in `available` first.
 */
async function availableAgents(handle: DatabaseHandle, tenantId: string, presenceTimeoutSeconds: number): Promise<Candidate[]> {
  const now = await databaseNow(handle.db, handle.dialect);
  const rows = await telephonyDb(handle.db)
    .selectFrom('agent_presence as p')
    .innerJoin('users as u', 'u.id', 'p.user_id')
    .selectAll('u')
    .where('p.tenant_id', '=', tenantId)
    .where('u.tenant_id', '=', tenantId)
    .where('u.disabled', '=', 0)
    .where('p.status', '=', 'available')
    .where('p.last_seen_at', '>', addSeconds(now, -presenceTimeoutSeconds))
    .orderBy('p.since')
    .orderBy('u.id')
    .execute();
  return rows.flatMap((row) => {
    const sipUser = sipUserOf(row);
    return sipUser === null ? [] : [{ user: toUser(row), sipUser }];
  });
}

function routed(candidate: Candidate): RoutedAgent {
  return { userId: candidate.user.id, login: candidate.user.login, sipUser: candidate.sipUser, displayName: candidate.user.displayName };
}

/**
 * The agent for a call: the one who handled this caller most recently (their last call
 * contact), else the customer's assigned rep, else the available agent who has waited longest.
 * Each must be available now and allowed to see the customer: ringing someone who is away,
 * or whose screen pop would have to hide the caller, helps nobody. An unknown caller goes
 * preferably to an agent who may handle unregistered callers. Every decision is audited.
 */
export async function routeCall(
  handle: DatabaseHandle,
  query: CtiRouteQuery,
  presenceTimeoutSeconds: number,
  /** Which PBX asked (TSUNAGU_CTI_PBXES id), for the audit trail. */
  pbxId: string,
): Promise<CtiRouteResponse> {
  const { db } = handle;
  const tenant = await tenantBySlug(db, query.tenant);
  const customerId = await matchCaller(db, tenant, { customerId: query.customerId ?? null, number: query.caller });
  const customer = customerId
    ? await db
        .selectFrom('customers')
        .select(['classification', 'branch', 'assigned_rep_id'])
        .where('tenant_id', '=', tenant.id)
        .where('id', '=', customerId)
        .executeTakeFirstOrThrow()
    : null;
  const available = await availableAgents(handle, tenant.id, presenceTimeoutSeconds);
  const eligible = available.filter((candidate) =>
    customer ? maySeeCustomer(candidate.user, { classification: customer.classification as Classification, branch: customer.branch }) : true,
  );
  const byId = (userId: string | null | undefined) => (userId ? eligible.find((candidate) => candidate.user.id === userId) : undefined);

  let choice: { candidate: Candidate; reason: RoutingReason } | null = null;
  if (customerId && customer) {
    const lastCall = await db
      .selectFrom('contacts')
      .select('agent_id')
      .where('tenant_id', '=', tenant.id)
      .where('customer_id', '=', customerId)
      .where('kind', '=', 'call')
      .where('agent_id', 'is not', null)
      .orderBy('occurred_at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    const lastHandler = byId(lastCall?.agent_id);
    const assignedRep = byId(customer.assigned_rep_id);
    if (lastHandler) choice = { candidate: lastHandler, reason: 'last_handler' };
    else if (assignedRep) choice = { candidate: assignedRep, reason: 'assigned_rep' };
  }
  if (!choice) {
    // Stable sort: among equals, the longest wait in `available` comes first.
    const ordered = customer
      ? eligible
      : [...eligible].sort((a, b) => Number(b.user.mayHandleUnregisteredCallers) - Number(a.user.mayHandleUnregisteredCallers));
    const first = ordered[0];
    if (first) choice = { candidate: first, reason: 'available_agent' };
  }

  const response: CtiRouteResponse = {
    customerId,
    agent: choice ? routed(choice.candidate) : null,
    reason: choice?.reason ?? 'none',
  };
  await recordAudit(db, {
    tenantId: tenant.id,
    userId: choice?.candidate.user.id ?? null,
    action: 'call_routed',
    customerId,
    details: {
      pbx: pbxId,
      caller: query.caller,
      called: query.called,
      ...(query.callId !== undefined ? { callId: query.callId } : {}),
      ...(query.customerId !== undefined ? { ivrCustomerId: query.customerId } : {}),
      reason: response.reason,
      agentId: response.agent?.userId ?? null,
    },
  });
  return response;
}

/** The tenant's user with this SIP user; SIP users are unique across the PBX, whatever their case. */
async function agentBySipUser(db: Kysely<Database>, tenantId: string, sipUser: string): Promise<string | null> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where(sql`lower(sip_user)`, '=', sipUser.toLowerCase())
    .executeTakeFirst();
  return row?.id ?? null;
}

function formatDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes}分${seconds % 60}秒` : `${seconds}秒`;
}

/**
 * Logs a PBX-reported call in the customer's history: a contact of kind `call` in the
 * customer's open PBX call-log incident (opened on first use). Through the change log, so
 * every app's cache gets it.
 */
async function logPbxCall(tx: WriteTx, tenantId: string, row: CallRow): Promise<string> {
  const customerId = row.customer_id;
  if (customerId === null) throw new Error('logPbxCall needs a matched customer');
  const open = await tx.trx
    .selectFrom('incidents')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('customer_id', '=', customerId)
    .where('title', '=', CALL_LOG_INCIDENT_TITLE)
    .where('status', '=', 'open')
    .orderBy('opened_at', 'desc')
    .executeTakeFirst();
  const incidentId =
    open?.id ?? (await insertIncident(tx, tenantId, { customerId, title: CALL_LOG_INCIDENT_TITLE, status: 'open', assigneeId: null }));
  const endedAt = row.ended_at ?? new Date().toISOString();
  const durationSeconds = row.answered_at === null ? 0 : Math.max(0, Math.round((Date.parse(endedAt) - Date.parse(row.answered_at)) / 1000));
  const summary = row.answered_at === null
    ? row.direction === 'inbound' ? '不在着信（PBX記録）' : '不通（PBX記録）'
    : `通話 ${formatDuration(durationSeconds)}（PBX記録）`;
  const contactId = await insertContact(tx, tenantId, {
    incidentId,
    customerId,
    kind: 'call',
    direction: row.direction,
    occurredAt: row.started_at,
    agentId: row.agent_id,
    summary,
    body: '',
    callMeta: {
      callId: row.external_id ?? undefined,
      from: row.from_number,
      to: row.to_number,
      startedAt: row.started_at,
      answeredAt: row.answered_at,
      endedAt,
      durationSeconds,
    },
  });
  await telephonyTrx(tx.trx).updateTable('calls').set({ call_log_contact_id: contactId }).where('id', '=', row.id).execute();
  return contactId;
}

/**
 * A call event from the PBX: the leg in `calls` (so supervisors' counts and mail pausing see
 * it), the audit event, and once the call is over, the call log entry matched to the
 * customer, unless the agent's app reported the call (its wrap-up logs it).
 */
export async function recordCtiEvent(handle: DatabaseHandle, input: CtiEventInput): Promise<{ tenantId: string; response: CtiEventResponse }> {
  const { db } = handle;
  const tenant = await tenantBySlug(db, input.tenant);
  const agentId = input.agent === null ? null : await agentBySipUser(db, tenant.id, input.agent);
  const inbound = input.direction === 'inbound';
  const remoteRaw = inbound ? input.caller : input.called;
  const remote = normaliseNumber(remoteRaw, tenant.defaultRegion) ?? remoteRaw;
  const customerId = await matchCaller(db, tenant, { customerId: input.customerId, number: remoteRaw });
  return writeTransaction(handle, async (tx) => {
    const { row } = await recordCallReport(tx, {
      tenantId: tenant.id,
      agentId,
      callId: input.callId,
      event: input.event,
      direction: input.direction,
      remote,
      local: inbound ? (input.agent ?? input.called) : (input.agent ?? input.caller),
      customerId,
      at: input.at ?? new Date().toISOString(),
      source: 'pbx',
    });
    const over = input.event === 'ended' || input.event === 'missed';
    const callLogContactId =
      row.call_log_contact_id ??
      (over && row.status === 'ended' && row.app_reported === 0 && row.customer_id !== null ? await logPbxCall(tx, tenant.id, row) : null);
    return {
      tenantId: tenant.id,
      response: { callId: input.callId, agentId, customerId: row.customer_id, status: row.status, callLogContactId },
    };
  });
}
