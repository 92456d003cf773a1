import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CallEventInput, type SipCredentials, type TelephonySettings } from '../../../shared/ipc.js';
import type { User } from '../../../shared/domain.js';
import { mayManageTelephony } from '../../../shared/permissions.js';
import { RoutingRules } from '../../../shared/routing-rules.js';
import type { BackendContext } from '../context.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { loadMailConfig } from '../mail/config.js';
import { createMailNotifier } from '../mail/notify.js';
import { writeTransaction } from '../sync/changelog.js';
import { recordCallReport } from './calls.js';
import { issueCredentialsFor } from './credentials.js';
import { assertServes, pbxOfToken, type CtiPbx } from './cti-access.js';
import {
  CtiEventInput,
  CtiQueueQuery,
  CtiRouteQuery,
  pollQueue,
  recordCtiEvent,
  routeCall,
  type CtiEventResponse,
  type CtiQueueResponse,
  type CtiRouteResponse,
} from './cti.js';
import { loadRoutingRules, saveRoutingRules } from './routing-rules.js';
import { customerVisibleTo } from './customers.js';
import { registerIvrCustomerRoute } from './ivr.js';
import { telephonyDb } from './schema.js';
import { loadTelephonySettings, TelephonySettingsUpdate, updateTelephonySettings } from './settings.js';

/**
 * REST routes of telephony. The app's (inside the authenticated scope):
 * - POST sipCredentials → SipCredentials: short-lived credentials for the user's SIP account
 *   (503 when this backend has no TSUNAGU_SIP_SECRET). Never logged, never cached.
 * - GET telephonySettings → TelephonySettings; PUT TelephonySettingsUpdate → TelephonySettings (admins).
 * - GET routingRules → RoutingRules; PUT RoutingRules → RoutingRules (admins; replaces the set, audited).
 * - POST callEvents CallEventInput → 204: ringing / answered / missed / rejected / transferred /
 *   ended of the user's own leg, audited once per leg and event (retries are harmless).
 * The PBX's (bearer: that PBX's own token from TSUNAGU_CTI_PBXES, not a user session; 503 when
 * no PBX is configured; 403 for a tenant the PBX does not serve):
 * - GET ctiRoute ?tenant=&caller=&called=[&customerId=&callId=] → CtiRouteResponse (ring targets, or queue).
 * - GET ctiQueue ?tenant=&callId= → CtiQueueResponse (404 when the call is not in line).
 * - POST ctiEvents CtiEventInput → CtiEventResponse.
 */
export const TELEPHONY_API = {
  sipCredentials: '/api/sip/credentials',
  telephonySettings: '/api/telephony/settings',
  routingRules: '/api/telephony/routing-rules',
  callEvents: '/api/calls/events',
  ctiRoute: '/api/cti/route',
  ctiEvents: '/api/cti/events',
  ctiQueue: '/api/cti/queue',
} as const;

function unavailable(reply: FastifyReply, message: string): FastifyReply {
  return reply.status(503).header('retry-after', '60').send({ error: { code: 'not_configured', message } });
}

function assertAdmin(user: User): void {
  if (!mayManageTelephony(user)) throw new HttpError('forbidden', 'for admins only');
}

export interface TelephonyRoutesOptions {
  /** How long an operator's heartbeat counts as "in the app"; defaults to the mail channel's setting. */
  presenceTimeoutSeconds?: number;
}

/** The app's telephony routes; register inside the authenticated scope. */
export function registerTelephonyRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const { handle, config } = ctx;
  const db = telephonyDb(handle.db);
  // Publish-only: it tells the supervisors' live view and the mail dispatch that calls changed.
  const notifier = createMailNotifier(handle, app.log);

  app.post(TELEPHONY_API.sipCredentials, async (request, reply) => {
    const { sipSecret } = config.telephony;
    if (sipSecret === null) {
      return unavailable(reply, 'the phone is not set up on this backend: TSUNAGU_SIP_SECRET is not configured');
    }
    const credentials: SipCredentials = await issueCredentialsFor(handle.db, { ...config.telephony, sipSecret }, request.auth);
    return reply.header('cache-control', 'no-store').send(credentials);
  });

  app.get(TELEPHONY_API.telephonySettings, async (request): Promise<TelephonySettings> =>
    loadTelephonySettings(db, request.auth.tenant),
  );

  app.put(TELEPHONY_API.telephonySettings, async (request): Promise<TelephonySettings> => {
    assertAdmin(request.auth.user);
    const body = parseRequest(TelephonySettingsUpdate, request.body, 'body');
    await updateTelephonySettings(db, request.auth.tenant.id, body, request.auth.user.id);
    return loadTelephonySettings(db, { id: request.auth.tenant.id, defaultRegion: body.defaultRegion ?? request.auth.tenant.defaultRegion });
  });

  app.get(TELEPHONY_API.routingRules, async (request): Promise<RoutingRules> => {
    assertAdmin(request.auth.user);
    return loadRoutingRules(handle.db, request.auth.tenant.id);
  });

  app.put(TELEPHONY_API.routingRules, async (request): Promise<RoutingRules> => {
    assertAdmin(request.auth.user);
    const body = parseRequest(RoutingRules, request.body, 'body');
    return saveRoutingRules(handle.db, request.auth.tenant.id, request.auth.user.id, body);
  });

  app.post(TELEPHONY_API.callEvents, async (request, reply) => {
    const body = parseRequest(CallEventInput, request.body, 'body');
    const { user, tenant } = request.auth;
    // Important: a customer id the user may not see and one that does not exist are answered
    // alike (204, the call logged without a customer), so this route tells no one which
    // customers exist. The event itself is real and stays in the log either way.
    const customerId = body.customerId !== null && (await customerVisibleTo(handle.db, user, tenant.id, body.customerId)) ? body.customerId : null;
    await writeTransaction(handle, (tx) =>
      recordCallReport(tx, {
        tenantId: tenant.id,
        agentId: user.id,
        callId: body.callId,
        event: body.event,
        direction: body.direction,
        remote: body.remote,
        local: user.login,
        customerId,
        at: body.at,
        ...(body.transferTarget !== undefined ? { transferTarget: body.transferTarget } : {}),
        source: 'app',
      }),
    );
    await notifier.publish(tenant.id);
    return reply.status(204).send();
  });
}

/**
 * The PBX's CTI routes, in a scope of their own: they take a PBX's token, which is not a user
 * session, so they sit outside the authenticated scope. A PBX acts only for the tenants it is
 * configured to serve.
 */
export function registerCtiRoutes(app: FastifyInstance, ctx: BackendContext, options: TelephonyRoutesOptions = {}): void {
  const { handle, config } = ctx;
  const presenceTimeoutSeconds = options.presenceTimeoutSeconds ?? loadMailConfig().dispatch.presenceTimeoutSeconds;
  const notifier = createMailNotifier(handle, app.log);
  const { ctiPbxes } = config.telephony;
  const callerOf = new WeakMap<FastifyRequest, CtiPbx>();
  const pbxOf = (request: FastifyRequest): CtiPbx => {
    const pbx = callerOf.get(request);
    if (!pbx) throw new Error('CTI route reached without an authenticated PBX');
    return pbx;
  };

  app.register(async (scope) => {
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (ctiPbxes.length === 0) return unavailable(reply, 'CTI is not set up on this backend: TSUNAGU_CTI_PBXES is not configured');
      const match = /^Bearer\s+(\S{1,512})$/i.exec(request.headers.authorization ?? '');
      const pbx = match?.[1] ? pbxOfToken(ctiPbxes, match[1]) : null;
      if (!pbx) throw new HttpError('unauthenticated', 'missing or wrong Authorization: Bearer <CTI token of this PBX>');
      callerOf.set(request, pbx);
    });

    scope.get(TELEPHONY_API.ctiRoute, async (request): Promise<CtiRouteResponse> => {
      const query = parseRequest(CtiRouteQuery, request.query, 'query');
      const pbx = pbxOf(request);
      assertServes(pbx, query.tenant);
      const { tenantId, response } = await routeCall(handle, query, presenceTimeoutSeconds, pbx.id);
      // The supervisors' live view shows the queue: a call that entered or left it changed it.
      if (response.queue !== null || response.reason === 'queue') await notifier.publish(tenantId);
      return response;
    });

    scope.get(TELEPHONY_API.ctiQueue, async (request): Promise<CtiQueueResponse> => {
      const query = parseRequest(CtiQueueQuery, request.query, 'query');
      assertServes(pbxOf(request), query.tenant);
      return pollQueue(handle, query, presenceTimeoutSeconds);
    });

    registerIvrCustomerRoute(scope, handle, pbxOf);

    scope.post(TELEPHONY_API.ctiEvents, async (request): Promise<CtiEventResponse> => {
      const body = parseRequest(CtiEventInput, request.body, 'body');
      assertServes(pbxOf(request), body.tenant);
      const { tenantId, response } = await recordCtiEvent(handle, body);
      await notifier.publish(tenantId);
      return response;
    });
  });
}
