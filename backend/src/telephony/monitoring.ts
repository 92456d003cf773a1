import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Classification, User } from '../../../shared/domain.js';
import {
  EndMonitorRequest,
  HelpRequest,
  MONITORING_API,
  OWN_HELP_API,
  OwnHelpRequest,
  StartMonitorRequest,
  SwitchMonitorRequest,
  type HelpRequestView,
  type LiveCallsResponse,
  type MonitorEndReason,
  type MonitorMode,
  type MonitorSessionView,
  type OwnHelpState,
} from '../../../shared/monitoring.js';
import { mayManageTelephony, mayMonitorCalls, maySeeCustomer } from '../../../shared/permissions.js';
import { z } from 'zod';
import { recordAudit, type AuditEvent } from '../audit.js';
import type { BackendContext } from '../context.js';
import type { Database } from '../db/schema.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { createMailNotifier } from '../mail/notify.js';
import { sipUserOf } from './credentials.js';
import { telephonyDb, type TelephonyDatabase } from './schema.js';

/**
 * Live monitoring (issue 11 items 3–5). The backend holds no media: it authorises and audits.
 * A supervisor (or admin) of the same tenant who may see the call's customer starts a session
 * on an operator's connected call, switches its mode and stops it; the operator's app checks a
 * monitoring INVITE against the session before it answers, and ends the session when the
 * supervisor's side goes silent (their browser closed). An operator asks for help on their own
 * connected call; the request shows in the live list until the call ends or a supervisor joins.
 */

interface MonitorSessionsTable {
  id: string;
  tenant_id: string;
  call_id: string;
  supervisor_id: string;
  agent_id: string;
  customer_id: string | null;
  mode: MonitorMode;
  started_at: string;
  ended_at: string | null;
  end_reason: MonitorEndReason | null;
}

interface HelpRequestsTable {
  id: string;
  tenant_id: string;
  call_id: string;
  agent_id: string;
  requested_at: string;
  cleared_at: string | null;
  cleared_by: string | null;
}

type MonitoringTables = { monitor_sessions: MonitorSessionsTable; help_requests: HelpRequestsTable };
type MonitoringDatabase = TelephonyDatabase & MonitoringTables;

function monitoringDb(db: Kysely<Database>): Kysely<MonitoringDatabase> {
  return telephonyDb(db).withTables<MonitoringTables>();
}

/** recordAudit inside this module's transactions: the audit table is the central schema's. */
function auditIn(trx: Kysely<MonitoringDatabase>, event: AuditEvent): Promise<void> {
  return recordAudit(trx as unknown as Kysely<Database>, event);
}

const IdParams = z.object({ id: z.string().min(1).max(200) });
const MonitoringSettings = z.object({ visibleToOperator: z.boolean() });

/** The call leg with its customer's rights-relevant fields; throws 404 when it is not this tenant's. */
async function loadCall(db: Kysely<MonitoringDatabase>, tenantId: string, callId: string) {
  const call = await db
    .selectFrom('calls as k')
    .leftJoin('customers as c', 'c.id', 'k.customer_id')
    .select(['k.id', 'k.external_id', 'k.status', 'k.agent_id', 'k.customer_id', 'c.classification', 'c.branch'])
    .where('k.tenant_id', '=', tenantId)
    .where('k.id', '=', callId)
    .executeTakeFirst();
  if (!call) throw new HttpError('not_found', `callId: no call ${callId}`);
  return call;
}

function mayHearCustomer(user: User, call: { customer_id: string | null; classification: number | null; branch: string | null }): boolean {
  if (call.customer_id === null || call.classification === null) return true;
  return maySeeCustomer(user, { classification: call.classification as Classification, branch: call.branch });
}

async function visibleToOperator(db: Kysely<MonitoringDatabase>, tenantId: string): Promise<boolean> {
  const row = await db.selectFrom('telephony_settings').select('monitoring_visible_to_operator').where('tenant_id', '=', tenantId).executeTakeFirst();
  return (row?.monitoring_visible_to_operator ?? 1) !== 0;
}

async function sessionView(db: Kysely<MonitoringDatabase>, tenantId: string, id: string): Promise<MonitorSessionView | null> {
  const row = await db
    .selectFrom('monitor_sessions as m')
    .innerJoin('calls as k', 'k.id', 'm.call_id')
    .innerJoin('users as s', 's.id', 'm.supervisor_id')
    .innerJoin('users as a', 'a.id', 'm.agent_id')
    .select([
      'm.id',
      'm.call_id',
      'k.external_id',
      'm.mode',
      'm.supervisor_id',
      's.display_name as supervisor_name',
      's.sip_user as supervisor_sip_user',
      'm.agent_id',
      'a.display_name as agent_name',
      'a.sip_user as agent_sip_user',
      'm.started_at',
      'm.ended_at',
      'm.end_reason',
    ])
    .where('m.tenant_id', '=', tenantId)
    .where('m.id', '=', id)
    .executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    callId: row.call_id,
    sipCallId: row.external_id,
    mode: row.mode,
    active: row.ended_at === null,
    supervisorId: row.supervisor_id,
    supervisorName: row.supervisor_name,
    supervisorSipUser: sipUserOf({ sip_user: row.supervisor_sip_user }),
    agentId: row.agent_id,
    agentName: row.agent_name,
    agentSipUser: sipUserOf({ sip_user: row.agent_sip_user }),
    visibleToOperator: await visibleToOperator(db, tenantId),
    startedAt: row.started_at,
    endedAt: row.ended_at,
    endReason: row.end_reason,
  };
}

export function registerMonitoringRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const db = monitoringDb(ctx.handle.db);
  // Publish-only: the supervisors' live view (pushed over the mail events) lists help requests and sessions.
  const notifier = createMailNotifier(ctx.handle, app.log);

  const requireSupervisor = (user: User) => {
    if (!mayMonitorCalls(user)) throw new HttpError('forbidden', 'only supervisors and admins may monitor calls');
  };

  /** A session the caller may act on: its supervisor, or (for reading and ending) its operator. */
  const loadSession = async (tenantId: string, user: User, id: string, operatorMay: boolean) => {
    const session = await sessionView(db, tenantId, id);
    if (!session) throw new HttpError('not_found', `no monitoring session ${id}`);
    const allowed = session.supervisorId === user.id || (operatorMay && session.agentId === user.id);
    if (!allowed) throw new HttpError('forbidden', 'this monitoring session is not yours');
    return session;
  };

  app.get(MONITORING_API.live, async (request): Promise<LiveCallsResponse> => {
    const { user, tenant } = request.auth;
    requireSupervisor(user);
    const rows = await db
      .selectFrom('calls as k')
      .innerJoin('users as a', 'a.id', 'k.agent_id')
      .leftJoin('customers as c', 'c.id', 'k.customer_id')
      .select([
        'k.id',
        'k.external_id',
        'k.agent_id',
        'a.display_name',
        'k.direction',
        'k.from_number',
        'k.to_number',
        'k.customer_id',
        'c.name',
        'c.classification',
        'c.branch',
        'k.answered_at',
      ])
      .where('k.tenant_id', '=', tenant.id)
      .where('k.status', '=', 'connected')
      .orderBy('k.answered_at')
      .limit(500)
      .execute();
    const callIds = rows.map((row) => row.id);
    const [help, sessions] =
      callIds.length === 0
        ? [[], []]
        : await Promise.all([
            db
              .selectFrom('help_requests')
              .select(['call_id', 'requested_at'])
              .where('tenant_id', '=', tenant.id)
              .where('cleared_at', 'is', null)
              .where('call_id', 'in', callIds)
              .execute(),
            db
              .selectFrom('monitor_sessions')
              .select(['id', 'call_id'])
              .where('tenant_id', '=', tenant.id)
              .where('ended_at', 'is', null)
              .where('supervisor_id', '=', user.id)
              .where('call_id', 'in', callIds)
              .execute(),
          ]);
    const helpOf = new Map(help.map((row) => [row.call_id, row.requested_at]));
    const calls: LiveCallsResponse['calls'] = [];
    for (const row of rows) {
      if (row.agent_id === null) continue;
      const visible = mayHearCustomer(user, { customer_id: row.customer_id, classification: row.classification, branch: row.branch });
      const own = sessions.find((session) => session.call_id === row.id);
      calls.push({
        callId: row.id,
        sipCallId: row.external_id,
        agentId: row.agent_id,
        agentName: row.display_name,
        remote: visible ? (row.direction === 'inbound' ? row.from_number : row.to_number) : '',
        customerId: visible ? row.customer_id : null,
        customerName: visible ? row.name : null,
        answeredAt: row.answered_at,
        helpRequestedAt: helpOf.get(row.id) ?? null,
        monitor: own ? await sessionView(db, tenant.id, own.id) : null,
      });
    }
    return { calls, now: new Date().toISOString() };
  });

  app.post(MONITORING_API.sessions, async (request, reply): Promise<MonitorSessionView> => {
    const { user, tenant } = request.auth;
    requireSupervisor(user);
    const body = parseRequest(StartMonitorRequest, request.body, 'body');
    const call = await loadCall(db, tenant.id, body.callId);
    if (call.status !== 'connected' || call.agent_id === null) throw new HttpError('conflict', 'callId: the call is not connected to an operator');
    if (call.agent_id === user.id) throw new HttpError('conflict', 'callId: this is your own call');
    if (!mayHearCustomer(user, call)) throw new HttpError('forbidden', 'you may not see this customer, so you may not hear the call');
    const id = randomUUID();
    const now = new Date().toISOString();
    const agentId = call.agent_id;
    await db.transaction().execute(async (trx) => {
      // One running session per supervisor and call: a second start replaces the first.
      const previous = await trx
        .selectFrom('monitor_sessions')
        .select('id')
        .where('tenant_id', '=', tenant.id)
        .where('call_id', '=', call.id)
        .where('supervisor_id', '=', user.id)
        .where('ended_at', 'is', null)
        .execute();
      for (const old of previous) {
        await trx.updateTable('monitor_sessions').set({ ended_at: now, end_reason: 'stopped' }).where('id', '=', old.id).execute();
        await auditIn(trx, { tenantId: tenant.id, userId: user.id, action: 'monitor_stopped', customerId: call.customer_id, details: { sessionId: old.id, callId: call.id, reason: 'stopped' } });
      }
      await trx
        .insertInto('monitor_sessions')
        .values({ id, tenant_id: tenant.id, call_id: call.id, supervisor_id: user.id, agent_id: agentId, customer_id: call.customer_id, mode: body.mode, started_at: now, ended_at: null, end_reason: null })
        .execute();
      await trx
        .updateTable('help_requests')
        .set({ cleared_at: now, cleared_by: user.id })
        .where('tenant_id', '=', tenant.id)
        .where('call_id', '=', call.id)
        .where('cleared_at', 'is', null)
        .execute();
      await auditIn(trx, {
        tenantId: tenant.id,
        userId: user.id,
        action: 'monitor_started',
        customerId: call.customer_id,
        details: { sessionId: id, callId: call.id, agentId, mode: body.mode },
      });
    });
    const view = await sessionView(db, tenant.id, id);
    if (!view) throw new HttpError('internal', 'the monitoring session vanished');
    await notifier.publish(tenant.id);
    reply.status(201);
    return view;
  });

  app.get(MONITORING_API.session, async (request): Promise<MonitorSessionView> => {
    const { user, tenant } = request.auth;
    const { id } = parseRequest(IdParams, request.params, 'params');
    return loadSession(tenant.id, user, id, true);
  });

  app.patch(MONITORING_API.session, async (request): Promise<MonitorSessionView> => {
    const { user, tenant } = request.auth;
    requireSupervisor(user);
    const { id } = parseRequest(IdParams, request.params, 'params');
    const body = parseRequest(SwitchMonitorRequest, request.body, 'body');
    const session = await loadSession(tenant.id, user, id, false);
    if (!session.active) throw new HttpError('conflict', 'this monitoring session has ended');
    if (session.mode === body.mode) return session;
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('monitor_sessions').set({ mode: body.mode }).where('id', '=', id).execute();
      const customer = await trx.selectFrom('monitor_sessions').select('customer_id').where('id', '=', id).executeTakeFirst();
      await auditIn(trx, {
        tenantId: tenant.id,
        userId: user.id,
        action: 'monitor_mode_changed',
        customerId: customer?.customer_id ?? null,
        details: { sessionId: id, callId: session.callId, from: session.mode, to: body.mode },
      });
    });
    return { ...session, mode: body.mode };
  });

  app.post(MONITORING_API.sessionEnd, async (request): Promise<MonitorSessionView> => {
    const { user, tenant } = request.auth;
    const { id } = parseRequest(IdParams, request.params, 'params');
    const body = parseRequest(EndMonitorRequest, request.body, 'body');
    const session = await loadSession(tenant.id, user, id, true);
    if (!session.active) return session;
    const now = new Date().toISOString();
    await db.transaction().execute(async (trx) => {
      const ended = await trx
        .updateTable('monitor_sessions')
        .set({ ended_at: now, end_reason: body.reason })
        .where('id', '=', id)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      if (Number(ended.numUpdatedRows) === 0) return;
      const customer = await trx.selectFrom('monitor_sessions').select('customer_id').where('id', '=', id).executeTakeFirst();
      await auditIn(trx, {
        tenantId: tenant.id,
        userId: user.id,
        action: 'monitor_stopped',
        customerId: customer?.customer_id ?? null,
        details: { sessionId: id, callId: session.callId, reason: body.reason, by: user.id === session.agentId ? 'operator' : 'supervisor' },
      });
    });
    await notifier.publish(tenant.id);
    return { ...session, active: false, endedAt: now, endReason: body.reason };
  });

  /** Opens a help request on the operator's own connected call, once; `created` false when one was open already. */
  const askForHelp = async (tenantId: string, user: User, call: Awaited<ReturnType<typeof loadCall>>): Promise<{ view: HelpRequestView; created: boolean }> => {
    if (call.agent_id !== user.id) throw new HttpError('forbidden', 'callId: you may ask for help only on your own call');
    if (call.status !== 'connected') throw new HttpError('conflict', 'callId: the call is not connected');
    const open = await db
      .selectFrom('help_requests')
      .select(['id', 'call_id', 'requested_at'])
      .where('tenant_id', '=', tenantId)
      .where('call_id', '=', call.id)
      .where('cleared_at', 'is', null)
      .executeTakeFirst();
    if (open) return { view: { id: open.id, callId: open.call_id, requestedAt: open.requested_at }, created: false };
    const id = randomUUID();
    const now = new Date().toISOString();
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('help_requests').values({ id, tenant_id: tenantId, call_id: call.id, agent_id: user.id, requested_at: now, cleared_at: null, cleared_by: null }).execute();
      await auditIn(trx, { tenantId, userId: user.id, action: 'help_requested', customerId: call.customer_id, details: { callId: call.id } });
    });
    await notifier.publish(tenantId);
    return { view: { id, callId: call.id, requestedAt: now }, created: true };
  };

  app.post(MONITORING_API.help, async (request, reply): Promise<HelpRequestView> => {
    const { user, tenant } = request.auth;
    const body = parseRequest(HelpRequest, request.body, 'body');
    const { view, created } = await askForHelp(tenant.id, user, await loadCall(db, tenant.id, body.callId));
    if (created) reply.status(201);
    return view;
  });

  /** The operator's own call leg with this SIP Call-ID (the newest, should the PBX reuse one). */
  const ownCall = async (tenantId: string, user: User, sipCallId: string) => {
    const leg = await db
      .selectFrom('calls')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('external_id', '=', sipCallId)
      .where('agent_id', '=', user.id)
      .orderBy('started_at', 'desc')
      .executeTakeFirst();
    if (!leg) throw new HttpError('not_found', 'sipCallId: no call of yours with this Call-ID (yet)');
    return loadCall(db, tenantId, leg.id);
  };

  const ownHelpState = async (tenantId: string, call: Awaited<ReturnType<typeof loadCall>>): Promise<OwnHelpState> => {
    const latest = await db
      .selectFrom('help_requests')
      .select(['requested_at', 'cleared_at', 'cleared_by'])
      .where('tenant_id', '=', tenantId)
      .where('call_id', '=', call.id)
      .orderBy('requested_at', 'desc')
      .executeTakeFirst();
    if (!latest) return { state: call.status === 'connected' ? 'none' : 'ended', requestedAt: null };
    // A supervisor's session clears the request (cleared_by is set); a call that ended leaves it open or clears it without one.
    if (latest.cleared_at !== null && latest.cleared_by !== null) return { state: 'joined', requestedAt: latest.requested_at };
    if (call.status !== 'connected') return { state: 'ended', requestedAt: latest.requested_at };
    return { state: latest.cleared_at === null ? 'requested' : 'none', requestedAt: latest.requested_at };
  };

  app.get(OWN_HELP_API, async (request): Promise<OwnHelpState> => {
    const { user, tenant } = request.auth;
    const { sipCallId } = parseRequest(OwnHelpRequest, request.query, 'query');
    return ownHelpState(tenant.id, await ownCall(tenant.id, user, sipCallId));
  });

  app.post(OWN_HELP_API, async (request, reply): Promise<OwnHelpState> => {
    const { user, tenant } = request.auth;
    const { sipCallId } = parseRequest(OwnHelpRequest, request.body, 'body');
    const call = await ownCall(tenant.id, user, sipCallId);
    const { created } = await askForHelp(tenant.id, user, call);
    if (created) reply.status(201);
    return ownHelpState(tenant.id, call);
  });

  app.get('/api/monitoring/settings', async (request) => {
    const { tenant } = request.auth;
    return { visibleToOperator: await visibleToOperator(db, tenant.id) };
  });

  app.patch('/api/monitoring/settings', async (request) => {
    const { user, tenant } = request.auth;
    if (!mayManageTelephony(user)) throw new HttpError('forbidden', 'for admins only');
    const body = parseRequest(MonitoringSettings, request.body, 'body');
    const value = body.visibleToOperator ? 1 : 0;
    const now = new Date().toISOString();
    await db
      .insertInto('telephony_settings')
      .values({ tenant_id: tenant.id, customer_id_header: null, after_call_work_seconds: null, dtmf_mode: null, ring_seconds: null, monitoring_visible_to_operator: value, updated_at: now })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ monitoring_visible_to_operator: value, updated_at: now }))
      .execute();
    return body;
  });
}
