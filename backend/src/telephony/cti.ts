import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { Id, IsoTime, type Classification, type CustomerType, type User } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import { SIP_USER_PATTERN } from '../../../shared/sip-identity.js';
import { recordAudit } from '../audit.js';
import { insertContact, openIncidentTitled } from '../customers/writes.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';
import { addSeconds, databaseNow } from '../mail/clock.js';
import { writeTransaction, type WriteTx } from '../sync/changelog.js';
import { toUser } from '../users/users.js';
import { recordCallReport, type CallRow } from './calls.js';
import type { CallMeta } from '../../../shared/domain.js';
import { sipUserOf } from './credentials.js';
import { matchCaller, normaliseNumber } from './customers.js';
import { DELIVERY_HOLD_SECONDS, enterQueue, leaveQueue, pendingDeliveries, queueEntry, standingOf, touchQueueEntry, waitingCount, type QueueStanding } from './queue.js';
import { ruleGroupMembers } from './routing-rules.js';
import { TELEPHONY_DEFAULTS } from './settings.js';
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

/** Why an agent is among a call's targets, in the order they are tried. */
export const ROUTING_REASONS = ['customer_type_rule', 'last_handler', 'assigned_rep', 'available_agent', 'queue', 'none'] as const;
export type RoutingReason = (typeof ROUTING_REASONS)[number];

export interface RoutedAgent {
  userId: string;
  login: string;
  /** Where the PBX sends the call: sip:<sipUser>@<its domain>; unique across the PBX (shared/sip-identity.ts). */
  sipUser: string;
  displayName: string;
}

/** One agent the PBX rings, for `ringSeconds`, before it tries the next. */
export interface RoutingTarget {
  sipUser: string;
  userId: string;
  reason: Exclude<RoutingReason, 'none'>;
}

/**
 * `ring`: try `targets` one after the other. `queue`: nobody is free (or callers ahead are
 * waiting for the free ones); the PBX holds the caller and polls GET /api/cti/queue, then
 * asks again. `agent`/`reason` are the first target, for older readers.
 */
export interface CtiRouteResponse {
  customerId: string | null;
  agent: RoutedAgent | null;
  reason: RoutingReason;
  action: 'ring' | 'queue';
  targets: RoutingTarget[];
  ringSeconds: number;
  /** The call's place in line; null when it rings, or when the PBX gave no callId to hold it by. */
  queue: QueueStanding | null;
}

/**
 * ringing / missed: one target tried (each try is audited); answered / ended: the outcome;
 * abandoned: the caller hung up before anyone answered (out of the queue, if it was in it).
 */
export const CTI_EVENTS = ['ringing', 'answered', 'missed', 'ended', 'abandoned'] as const;

/** POST /api/cti/events: a call as the PBX saw it, typically to a rep who does not use the app. */
export const CtiEventInput = z
  .object({
    tenant: TenantSlug,
    callId: z.string().min(1).max(200),
    event: z.enum(CTI_EVENTS),
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

/** The tenant and its ring time per target, in one read: the PBX waits for every routing answer. */
async function routingTenant(db: Kysely<Database>, slug: string): Promise<TenantRow & { ringSeconds: number }> {
  const row = await telephonyDb(db)
    .selectFrom('tenants as t')
    .leftJoin('telephony_settings as s', 's.tenant_id', 't.id')
    .select(['t.id', 't.slug', 't.default_region', 's.ring_seconds'])
    .where('t.slug', '=', slug)
    .executeTakeFirst();
  if (!row) throw new HttpError('not_found', 'tenant: no such tenant');
  return { id: row.id, slug: row.slug, defaultRegion: row.default_region, ringSeconds: row.ring_seconds ?? TELEPHONY_DEFAULTS.ringSeconds };
}

interface Candidate {
  user: User;
  sipUser: string;
}

/**
 * Agents the PBX may ring now: status `available` in the app, heartbeat fresh, enabled, with a
 * SIP user, and not already ringing for another call; the longest in `available` first.
 */
async function freeAgents(
  handle: DatabaseHandle,
  tenantId: string,
  now: string,
  presenceTimeoutSeconds: number,
  ringSeconds: number,
): Promise<Candidate[]> {
  const db = telephonyDb(handle.db);
  // Few legs ring at any moment; asked apart, this stays an index lookup on (tenant, status)
  // where a per-agent subquery would walk each agent's whole call history.
  const ringing = await db
    .selectFrom('calls')
    .select('agent_id')
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'ringing')
    // No DISTINCT nor `agent_id is not null` here: either lures SQLite's planner onto the
    // (tenant, agent, started) index, a walk through the whole history.
    // A leg that rings longer than one ring time plus slack was closed by a report we never got.
    .where('updated_at', '>', addSeconds(now, -(ringSeconds + RINGING_SLACK_SECONDS)))
    .execute();
  const busy = new Set(ringing.map((row) => row.agent_id));
  const present = await db
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
  const rows = present.filter((row) => !busy.has(row.id));
  return rows.flatMap((row) => {
    const sipUser = sipUserOf(row);
    return sipUser === null ? [] : [{ user: toUser(row), sipUser }];
  });
}

const RINGING_SLACK_SECONDS = 10;

function routed(candidate: Candidate): RoutedAgent {
  return { userId: candidate.user.id, login: candidate.user.login, sipUser: candidate.sipUser, displayName: candidate.user.displayName };
}

interface CustomerFacts {
  classification: Classification;
  branch: string | null;
  assignedRepId: string | null;
  type: CustomerType;
}

async function customerFacts(db: Kysely<Database>, tenantId: string, customerId: string): Promise<CustomerFacts> {
  const row = await db
    .selectFrom('customers')
    .select(['classification', 'branch', 'assigned_rep_id', 'type'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', customerId)
    .executeTakeFirstOrThrow();
  return { classification: row.classification as Classification, branch: row.branch, assignedRepId: row.assigned_rep_id, type: row.type };
}

/**
 * The ordered targets for a new call: the group of the tenant's rule for this customer type,
 * then the agent who handled the caller last (their last call contact), then the assigned rep,
 * then every other free agent, longest idle first (for an unknown caller, those who may handle
 * unregistered callers first). Each agent appears once, at its first place.
 */
async function orderedTargets(
  db: Kysely<Database>,
  tenantId: string,
  customerId: string | null,
  customer: CustomerFacts | null,
  eligible: Candidate[],
): Promise<{ candidate: Candidate; reason: RoutingTarget['reason'] }[]> {
  const picked: { candidate: Candidate; reason: RoutingTarget['reason'] }[] = [];
  const add = (candidate: Candidate | undefined, reason: RoutingTarget['reason']) => {
    if (candidate && !picked.some((p) => p.candidate.user.id === candidate.user.id)) picked.push({ candidate, reason });
  };
  const byId = (userId: string | null | undefined) => (userId ? eligible.find((candidate) => candidate.user.id === userId) : undefined);

  if (customerId && customer) {
    const groupMembers = await ruleGroupMembers(db, tenantId, customer.type);
    for (const candidate of eligible) if (groupMembers.has(candidate.user.id)) add(candidate, 'customer_type_rule');
    const lastCall = await db
      .selectFrom('contacts')
      .select('agent_id')
      .where('tenant_id', '=', tenantId)
      .where('customer_id', '=', customerId)
      .where('kind', '=', 'call')
      .where('agent_id', 'is not', null)
      .orderBy('occurred_at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    add(byId(lastCall?.agent_id), 'last_handler');
    add(byId(customer.assignedRepId), 'assigned_rep');
  }
  // Stable sort: among equals, the longest wait in `available` comes first.
  const rest = customer
    ? eligible
    : [...eligible].sort((a, b) => Number(b.user.mayHandleUnregisteredCallers) - Number(a.user.mayHandleUnregisteredCallers));
  for (const candidate of rest) add(candidate, 'available_agent');
  return picked;
}

/**
 * The free agents who may take a call of this customer (longest idle first), and how many
 * agents are free for the queue: the free ones less those kept for calls just delivered.
 */
async function agentsFor(
  handle: DatabaseHandle,
  tenantId: string,
  customer: CustomerFacts | null,
  now: string,
  presenceTimeoutSeconds: number,
  ringSeconds: number,
): Promise<{ eligible: Candidate[]; capacity: number }> {
  const free = await freeAgents(handle, tenantId, now, presenceTimeoutSeconds, ringSeconds);
  const eligible = customer ? free.filter((candidate) => maySeeCustomer(candidate.user, customer)) : free;
  return { eligible, capacity: free.length - (await pendingDeliveries(telephonyDb(handle.db), tenantId, now)) };
}

/** GET /api/cti/queue: the hold player's question, every 500 ms, about its caller. */
export const CtiQueueQuery = z.object({ tenant: TenantSlug, callId: z.string().min(1).max(200) });
export type CtiQueueQuery = z.infer<typeof CtiQueueQuery>;

/** `ready`: ask /api/cti/route again now, it will return ring targets. */
export interface CtiQueueResponse {
  ready: boolean;
  position: number;
  waiting: number;
}

/**
 * Where a queued call stands, and whether it may be routed now: it is among the first N
 * waiting calls, N the free agents, and one of them may take this caller. Each question keeps
 * the caller's place (see QUEUE_SILENCE_SECONDS). A call that was delivered is ready (the PBX
 * may ask once more after routing it); one that is not in line, or was abandoned, is a 404.
 */
export async function pollQueue(handle: DatabaseHandle, query: CtiQueueQuery, presenceTimeoutSeconds: number): Promise<CtiQueueResponse> {
  const queueDb = telephonyDb(handle.db);
  const tenant = await routingTenant(handle.db, query.tenant);
  const entry = await queueEntry(queueDb, tenant.id, query.callId);
  if (!entry || entry.state === 'abandoned') throw new HttpError('not_found', 'callId: this call is not in the queue');
  const now = await databaseNow(handle.db, handle.dialect);
  if (entry.state === 'delivered') return { ready: true, position: 0, waiting: await waitingCount(queueDb, tenant.id, now) };
  await touchQueueEntry(queueDb, tenant.id, entry.call_id, now);
  const { ringSeconds } = tenant;
  const customer = entry.customer_id ? await customerFacts(handle.db, tenant.id, entry.customer_id) : null;
  const standing = await standingOf(queueDb, tenant.id, entry, now);
  const { eligible, capacity } = await agentsFor(handle, tenant.id, customer, now, presenceTimeoutSeconds, ringSeconds);
  return { ready: standing.position <= capacity && eligible.length > 0, ...standing };
}

/**
 * Which agents should get this call, in order, or that the caller must wait.
 *
 * Only agents free now and allowed to see the customer are targets: ringing someone who is
 * away, or whose screen pop would have to hide the caller, helps nobody. Callers already in
 * line come first: a new call rings only while there are more free agents than waiting calls.
 * A call that is in line gets targets only once it is among the first N waiting calls, N the
 * free agents (then longest idle first), and leaves the line. Every decision is audited.
 */
export async function routeCall(
  handle: DatabaseHandle,
  query: CtiRouteQuery,
  presenceTimeoutSeconds: number,
  /** Which PBX asked (TSUNAGU_CTI_PBXES id), for the audit trail. */
  pbxId: string,
): Promise<{ tenantId: string; response: CtiRouteResponse }> {
  const { db } = handle;
  const queueDb = telephonyDb(db);
  const tenant = await routingTenant(db, query.tenant);
  const now = await databaseNow(db, handle.dialect);
  const { ringSeconds } = tenant;
  const queued = query.callId === undefined ? null : await queueEntry(queueDb, tenant.id, query.callId);
  // A question about a call delivered moments ago is the PBX asking twice (a retry, or two
  // instances answering one request): it gets the same answer. Later, it means nobody took
  // the call, and the call goes back in line.
  const justDelivered = queued?.state === 'delivered' && queued.left_at !== null && queued.left_at > addSeconds(now, -DELIVERY_HOLD_SECONDS);
  const inLine = queued?.state === 'waiting' || justDelivered ? queued : null;
  const customerId = inLine
    ? inLine.customer_id
    : await matchCaller(db, tenant, { customerId: query.customerId ?? null, number: query.caller });
  const customer = customerId ? await customerFacts(db, tenant.id, customerId) : null;
  const { eligible, capacity } = await agentsFor(handle, tenant.id, customer, now, presenceTimeoutSeconds, ringSeconds);

  let targets: { candidate: Candidate; reason: RoutingTarget['reason'] }[] = [];
  let standing: QueueStanding | null = null;
  if (inLine) {
    standing = await standingOf(queueDb, tenant.id, inLine, now);
    let delivered = inLine.state === 'delivered';
    if (!delivered && standing.position <= capacity && eligible.length > 0) {
      delivered = await leaveQueue(queueDb, tenant.id, inLine.call_id, 'delivered', now);
    }
    // Another instance may have delivered it since this one read it.
    if (!delivered) delivered = (await queueEntry(queueDb, tenant.id, inLine.call_id))?.state === 'delivered';
    if (delivered && eligible.length > 0) {
      targets = eligible.map((candidate) => ({ candidate, reason: 'queue' }));
      standing = null;
    } else if (!delivered) {
      await touchQueueEntry(queueDb, tenant.id, inLine.call_id, now);
    }
  } else {
    const ordered = await orderedTargets(db, tenant.id, customerId, customer, eligible);
    const waiting = await waitingCount(queueDb, tenant.id, now);
    if (ordered.length > 0 && waiting < capacity) targets = ordered;
    else if (query.callId !== undefined) {
      const entry = await enterQueue(queueDb, { tenantId: tenant.id, callId: query.callId, caller: query.caller, customerId }, now);
      standing = await standingOf(queueDb, tenant.id, entry, now);
    }
  }

  const first = targets[0];
  const response: CtiRouteResponse = {
    customerId,
    agent: first ? routed(first.candidate) : null,
    reason: first?.reason ?? 'none',
    action: first ? 'ring' : 'queue',
    targets: targets.map(({ candidate, reason }) => ({ sipUser: candidate.sipUser, userId: candidate.user.id, reason })),
    ringSeconds,
    queue: standing,
  };
  await recordAudit(db, {
    tenantId: tenant.id,
    userId: first?.candidate.user.id ?? null,
    action: 'call_routed',
    customerId,
    details: {
      pbx: pbxId,
      caller: query.caller,
      called: query.called,
      ...(query.callId !== undefined ? { callId: query.callId } : {}),
      ...(query.customerId !== undefined ? { ivrCustomerId: query.customerId } : {}),
      action: response.action,
      reason: response.reason,
      agentId: response.agent?.userId ?? null,
      targets: response.targets.map(({ userId, reason }) => ({ userId, reason })),
      ...(standing ? { queue: standing } : {}),
    },
  });
  return { tenantId: tenant.id, response };
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

/** What the call log says about a leg, as it stands now. */
function callLogFields(row: CallRow): { summary: string; occurredAt: string; callMeta: CallMeta } {
  const endedAt = row.ended_at ?? new Date().toISOString();
  const durationSeconds = row.answered_at === null ? 0 : Math.max(0, Math.round((Date.parse(endedAt) - Date.parse(row.answered_at)) / 1000));
  const summary = row.answered_at === null
    ? row.direction === 'inbound' ? '不在着信（PBX記録）' : '不通（PBX記録）'
    : `通話 ${formatDuration(durationSeconds)}（PBX記録）`;
  return {
    summary,
    occurredAt: row.started_at,
    callMeta: {
      callId: row.external_id ?? undefined,
      from: row.from_number,
      to: row.to_number,
      startedAt: row.started_at,
      answeredAt: row.answered_at,
      endedAt,
      durationSeconds,
    },
  };
}

/**
 * Logs a PBX-reported call in the customer's history: a contact of kind `call` in the
 * customer's open PBX call-log incident (opened on first use). Through the change log, so
 * every app's cache gets it.
 */
async function logPbxCall(tx: WriteTx, tenantId: string, row: CallRow): Promise<string> {
  const customerId = row.customer_id;
  if (customerId === null) throw new Error('logPbxCall needs a matched customer');
  const incidentId = await openIncidentTitled(tx, tenantId, customerId, CALL_LOG_INCIDENT_TITLE);
  const contactId = await insertContact(tx, tenantId, {
    incidentId,
    customerId,
    kind: 'call',
    direction: row.direction,
    agentId: row.agent_id,
    body: '',
    ...callLogFields(row),
  });
  await telephonyTrx(tx.trx).updateTable('calls').set({ call_log_contact_id: contactId }).where('id', '=', row.id).execute();
  return contactId;
}

/**
 * An event that arrived after the call was logged (the PBX's `answered` overtaken by its
 * `ended`) corrects the entry, through the change log like the entry itself.
 */
async function correctPbxCallLog(tx: WriteTx, tenantId: string, row: CallRow, contactId: string): Promise<void> {
  if (row.customer_id === null) return;
  const fields = callLogFields(row);
  await tx.trx
    .updateTable('contacts')
    .set({ summary: fields.summary, occurred_at: new Date(fields.occurredAt).toISOString(), call_meta: JSON.stringify(fields.callMeta) })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', contactId)
    .execute();
  await tx.recordChange({ tenantId, entity: 'contact', entityId: contactId, customerId: row.customer_id, op: 'upsert' });
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
    if (input.event === 'abandoned') await leaveQueue(telephonyDb(tx.trx), tenant.id, input.callId, 'abandoned', new Date().toISOString());
    const { row, before } = await recordCallReport(tx, {
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
    const over = input.event === 'ended' || input.event === 'missed' || input.event === 'abandoned';
    const loggedBefore = row.call_log_contact_id;
    if (loggedBefore !== null && (row.answered_at !== before.answered_at || row.started_at !== before.started_at)) {
      await correctPbxCallLog(tx, tenant.id, row, loggedBefore);
    }
    const callLogContactId =
      loggedBefore ??
      (over && row.status === 'ended' && row.app_reported === 0 && row.customer_id !== null ? await logPbxCall(tx, tenant.id, row) : null);
    return {
      tenantId: tenant.id,
      response: { callId: input.callId, agentId, customerId: row.customer_id, status: row.status, callLogContactId },
    };
  });
}

/** An operator a callback ("call me", backend/src/callme) may be offered to, and why. */
export interface CallbackCandidate {
  userId: string;
  reason: RoutingTarget['reason'];
}

/**
 * Who may be offered a callback of this customer now, in the order an inbound call of theirs
 * would ring them: the same free agents allowed to see the customer, the previous handler
 * (and the tenant's rule, the assigned rep) before everyone else by longest idle.
 */
export async function callbackCandidates(
  handle: DatabaseHandle,
  tenantId: string,
  customerId: string,
  presenceTimeoutSeconds: number,
): Promise<CallbackCandidate[]> {
  const { db } = handle;
  const now = await databaseNow(db, handle.dialect);
  const settings = await telephonyDb(db).selectFrom('telephony_settings').select('ring_seconds').where('tenant_id', '=', tenantId).executeTakeFirst();
  const customer = await customerFacts(db, tenantId, customerId);
  const { eligible } = await agentsFor(handle, tenantId, customer, now, presenceTimeoutSeconds, settings?.ring_seconds ?? TELEPHONY_DEFAULTS.ringSeconds);
  const ordered = await orderedTargets(db, tenantId, customerId, customer, eligible);
  return ordered.map(({ candidate, reason }) => ({ userId: candidate.user.id, reason }));
}
