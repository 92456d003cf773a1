import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { API } from '../../shared/api.js';
import { PORTAL_API, PORTAL_STAFF_API } from '../../shared/portal.js';
import { PasswordChecker } from './auth/passwords.js';
import { registerAuditViewerRoutes } from './audit-viewer.js';
import { authenticationHook, registerLoginRoute, registerSessionRoutes } from './auth/routes.js';
import { LoginThrottle } from './auth/throttle.js';
import type { BackendConfig } from './config.js';
import type { BackendContext } from './context.js';
import { registerBranchCallRoutes } from './branch-calls/routes.js';
import { registerCallHistoryRoutes } from './calls/routes.js';
import { registerCallbackWorklistRoutes } from './calls/worklist.js';
import { registerCustomerRoutes } from './customers/routes.js';
import { MAX_RECORDING_BYTES, registerRecordingAudioRoute, registerRecordingCtiRoutes, registerRecordingRoutes, scheduleRetention } from './recordings/routes.js';
import { RECORDING_API } from '../../shared/recordings.js';
import { PORTAL_SCREEN_SYNC_API, SCREEN_SYNC_LIMITS } from '../../shared/screen-sync.js';
import type { DatabaseHandle } from './db/database.js';
import { installErrorHandlers } from './http/errors.js';
import { registerDevMailOutRoutes } from './mail/dev-mail-out.js';
import { loadMailConfig } from './mail/config.js';
import { registerMailRoutes } from './mail/routes.js';
import { registerPortalRoutes, type PortalOptions } from './portal/routes.js';
import { registerPortalStaffRoutes } from './portal/staff-routes.js';
import { registerReportRoutes } from './reports/routes.js';
import { registerScreenSyncRoutes } from './screen-sync/routes.js';
import { registerRepRoutingRoutes } from './rep-requests/routes.js';
import { sequenceAllCommitted, stopSequencing } from './sync/changelog.js';
import { createChangeFeed } from './sync/feed.js';
import { closePromptly } from './http/close-promptly.js';
import { registerSyncRoutes } from './sync/routes.js';
import { registerCtiRoutes, registerTelephonyRoutes } from './telephony/routes.js';
import { registerMonitoringRoutes } from './telephony/monitoring.js';
import { registerUserRoutes } from './users/routes.js';
import { partnerLockout, registerExchangeRoutes } from './exchange/routes.js';
import { registerCallMePortalRoutes, registerCallMeStaffRoutes, setUpCallMe } from './callme/routes.js';
import { DEFAULT_CALLME_OPTIONS, type CallMeOptions } from './callme/service.js';

export interface AppOptions {
  /** An open, migrated database (db/database.ts, db/migrate.ts). The app does not close it. */
  db: DatabaseHandle;
  config: BackendConfig;
  /** The password checker; tests pass one whose checks they can hold, to fill its line. */
  passwords?: PasswordChecker;
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: { write(line: string): void };
  /** The customer portal's settings (tests pass their relay and limits); default from the environment. */
  portal?: Partial<PortalOptions>;
  /** "Call me" timings (tests set sweepMs 0 and sweep themselves); default: DEFAULT_CALLME_OPTIONS. */
  callme?: Partial<CallMeOptions>;
}

const KIB = 1024;

/**
 * Request body limits, in one table so that no route gets a large one by accident. Fastify
 * refuses a body past its route's limit with 413 while reading it (at once when Content-Length
 * says so), before any parsing. Public routes get the smallest: anyone can send to them.
 */
export const BODY_LIMITS = {
  /** A tenant, a login and a password. */
  login: 4 * KIB,
  /** The PBX's CTI queries and call events: a few numbers and ids. */
  cti: 16 * KIB,
  /** A push carries up to 500 notes of up to 20,000 characters (JSON escapes included). */
  syncPush: 16 * KIB * KIB,
  /** The portal's beacons: a batch of at most 50 events (clear 413 past it). */
  portalEvents: 32 * KIB,
  /** The portal's other customer input: sign-in, orders. */
  portalForm: 8 * KIB,
  /** An admin's image or video upload (base64). */
  portalMedia: 16 * KIB * KIB,
  /** Everything else: the largest is one reply or note of 20,000 characters. */
  default: 256 * KIB,
} as const;

function bodyLimitOf(url: string): number {
  if (url === API.login) return BODY_LIMITS.login;
  // The PBX's finished recordings: the route streams them to disk and enforces this itself.
  if (url === RECORDING_API.ctiIngest) return MAX_RECORDING_BYTES;
  if (url.startsWith('/api/cti/')) return BODY_LIMITS.cti;
  if (url === API.syncPush) return BODY_LIMITS.syncPush;
  if (url === PORTAL_STAFF_API.media) return BODY_LIMITS.portalMedia;
  if (url === `/portal/:tenant${PORTAL_API.events}`) return BODY_LIMITS.portalEvents;
  if (url === `/portal/:tenant${PORTAL_SCREEN_SYNC_API.events}`) return SCREEN_SYNC_LIMITS.batchBytes;
  if (url.startsWith('/portal/')) return BODY_LIMITS.portalForm;
  return BODY_LIMITS.default;
}

/**
 * Fastify logs two info lines per request; with hundreds of agents polling and pushing they
 * drown what matters. One debug line per request instead (TSUNAGU_LOG_LEVEL=debug shows it),
 * while a request that failed is still logged by Fastify at its own level.
 */
class QuietRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      super.requestCompleted(error, request, reply);
      return;
    }
    request.log.debug({ req: request, statusCode: reply.statusCode, responseTimeMs: Math.round(reply.elapsedTime * 10) / 10 }, 'request completed');
  }
}

/** Request URLs as logged: the SSE route may carry the session token in its query. */
function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&]*/g, '$1[redacted]');
}

/**
 * The backend as a Fastify instance, not yet listening (tests use `inject` or `listen` on
 * port 0; main.ts listens on the configured address). Every route except login and health sits
 * in one scope whose hook resolves the bearer token and scopes the request to its tenant.
 */
export function buildApp({ db, config, passwords, logStream, portal, callme }: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      serializers: {
        req: (request: { method: string; url: string }) => ({ method: request.method, url: redactUrl(request.url) }),
      },
      ...(logStream ? { stream: logStream } : {}),
    },
    bodyLimit: BODY_LIMITS.default,
    logController: new QuietRequestLog(),
  });
  // Before any route is added: every route takes its limit from the table above.
  app.addHook('onRoute', (route) => {
    route.bodyLimit = Math.min(route.bodyLimit ?? Number.POSITIVE_INFINITY, bodyLimitOf(route.url));
  });
  const ctx: BackendContext = {
    handle: db,
    config,
    feed: createChangeFeed(db, app.log),
    passwords: passwords ?? new PasswordChecker(config.argon2, config.login),
    throttle: new LoginThrottle(db, config.login),
  };
  app.addHook('onReady', async () => {
    await ctx.feed.start();
    await sequenceAllCommitted(db, app.log);
  });
  closePromptly(app);
  app.addHook('onClose', () => {
    stopSequencing(db);
    return ctx.feed.close();
  });
  installErrorHandlers(app);

  app.get(API.health, async (_request, reply) => {
    try {
      await sql`select 1`.execute(db.db);
      return { status: 'ok' };
    } catch {
      return reply.status(503).send({ error: { code: 'internal', message: 'database unavailable' } });
    }
  });
  registerLoginRoute(app, ctx);
  registerCtiRoutes(app, ctx);
  registerRecordingCtiRoutes(app, ctx);
  registerRecordingAudioRoute(app, ctx);
  scheduleRetention(app, ctx);
  if (config.devMailOutDir !== null) registerDevMailOutRoutes(app, config.devMailOutDir);
  registerPortalRoutes(app, ctx, { mailConfig: loadMailConfig(), ...portal });
  const callMe = setUpCallMe(app, ctx, { ...DEFAULT_CALLME_OPTIONS, presenceTimeoutSeconds: loadMailConfig().dispatch.presenceTimeoutSeconds, ...callme });
  ctx.callmeOffers = callMe.notifier;
  registerCallMePortalRoutes(app, ctx, callMe);

  app.register(async (scope) => {
    scope.addHook('onRequest', authenticationHook(ctx));
    scope.addHook('onRequest', partnerLockout());
    registerSessionRoutes(scope, ctx);
    registerCustomerRoutes(scope, ctx);
    registerUserRoutes(scope, ctx);
    registerSyncRoutes(scope, ctx);
    registerMailRoutes(scope, ctx);
    registerTelephonyRoutes(scope, ctx);
    registerCallHistoryRoutes(scope, ctx);
    registerCallbackWorklistRoutes(scope, ctx);
    registerBranchCallRoutes(scope, ctx);
    registerRecordingRoutes(scope, ctx);
    registerMonitoringRoutes(scope, ctx);
    registerExchangeRoutes(scope, ctx);
    registerAuditViewerRoutes(scope, ctx);
    registerPortalStaffRoutes(scope, ctx);
    registerReportRoutes(scope, ctx);
    registerCallMeStaffRoutes(scope, ctx, callMe);
    registerScreenSyncRoutes(scope, ctx);
    registerRepRoutingRoutes(scope, ctx);
  });
  return app;
}
