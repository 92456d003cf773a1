import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CALLME_API, CALLME_PORTAL_API, CallMeCompleteInput, CallMeHours, CallMeInput, type CallMeAccepted, type CallMeOfferResponse, type CallMeStatus, type CallMeView } from '../../../shared/callme.js';
import { Id } from '../../../shared/domain.js';
import type { BackendContext } from '../context.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { portalScopeHooks } from '../portal/routes.js';
import { portalSessionHook } from '../portal/sessions.js';
import { isKnownTimeZone } from './hours.js';
import { createCallMeNotifier } from './notifier.js';
import {
  acceptCallMe,
  callMeStatus,
  cancelCallMe,
  completeCallMe,
  declineCallMe,
  dispatchCallMe,
  hoursOf,
  offerFor,
  requestCallMe,
  setHours,
  sweepCallMe,
  type CallMeContext,
  type CallMeOptions,
} from './service.js';

const PortalIdParams = z.object({ tenant: z.string().max(100), id: Id });
const IdParams = z.object({ id: Id });

/**
 * "Call me" in one backend instance: the notifier the app's event stream listens on
 * (sync/routes.ts), and the sweeper, which moves offers that ran out and offers requests that
 * became due or waited for someone to be free.
 */
export function setUpCallMe(app: FastifyInstance, ctx: Pick<BackendContext, 'handle'>, options: CallMeOptions): CallMeContext {
  const notifier = createCallMeNotifier(ctx.handle, app.log);
  const cx: CallMeContext = { handle: ctx.handle, options, notifier };
  let sweeper: NodeJS.Timeout | null = null;
  let sweeping = false;
  app.addHook('onReady', async () => {
    await notifier.start();
    if (options.sweepMs <= 0) return;
    sweeper = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      sweepCallMe(cx)
        .catch((error: unknown) => app.log.warn({ err: error }, 'call me: a sweep failed'))
        .finally(() => {
          sweeping = false;
        });
    }, options.sweepMs);
    sweeper.unref();
  });
  app.addHook('onClose', async () => {
    if (sweeper) clearInterval(sweeper);
    await notifier.close();
  });
  return cx;
}

/** The portal's routes: a portal session of the tenant, CSRF header on writes. */
export function registerCallMePortalRoutes(app: FastifyInstance, ctx: BackendContext, cx: CallMeContext): void {
  app.register(async (scope) => {
    portalScopeHooks(scope);
    scope.addHook('onRequest', portalSessionHook(ctx.handle.db));
    scope.get(`/portal/:tenant${CALLME_PORTAL_API.callme}`, async (request): Promise<CallMeStatus> =>
      callMeStatus(ctx.handle.db, request.portal.tenantId, request.portal.customerId),
    );
    scope.post(`/portal/:tenant${CALLME_PORTAL_API.callme}`, async (request, reply): Promise<CallMeView> => {
      const input = parseRequest(CallMeInput, request.body, 'body');
      const { tenantId, customerId } = request.portal;
      const tenant = await ctx.handle.db.selectFrom('tenants').select('default_region').where('id', '=', tenantId).executeTakeFirstOrThrow();
      const { view, created } = await requestCallMe(cx, { tenantId, customerId, region: tenant.default_region }, input);
      if (!created) return reply.status(200).send(view);
      if (!view.booked) await dispatchCallMe(cx, tenantId);
      const latest = (await callMeStatus(ctx.handle.db, tenantId, customerId)).request;
      return reply.status(201).send(latest?.id === view.id ? latest : view);
    });
    scope.post(`/portal/:tenant${CALLME_PORTAL_API.cancel}`, async (request): Promise<CallMeView> => {
      const { id } = parseRequest(PortalIdParams, request.params, 'params');
      return cancelCallMe(cx, request.portal, id);
    });
  });
}

/** The operators' and admins' routes; registered inside the staff scope (bearer session). */
export function registerCallMeStaffRoutes(scope: FastifyInstance, ctx: BackendContext, cx: CallMeContext): void {
  scope.get(CALLME_API.offer, async (request): Promise<CallMeOfferResponse> => ({
    offer: await offerFor(ctx.handle.db, request.auth.user, request.auth.tenant.id),
  }));
  scope.post(CALLME_API.accept, async (request): Promise<CallMeAccepted> => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const accepted = await acceptCallMe(cx, request.auth.user, request.auth.tenant.id, id);
    await cx.notifier.offerChanged(request.auth.tenant.id, [request.auth.user.id]);
    return accepted;
  });
  scope.post(CALLME_API.decline, async (request, reply) => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    await declineCallMe(cx, request.auth.user, request.auth.tenant.id, id);
    return reply.status(204).send();
  });
  scope.post(CALLME_API.complete, async (request, reply) => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const input = parseRequest(CallMeCompleteInput, request.body ?? {}, 'body');
    await completeCallMe(cx, request.auth.user, request.auth.tenant.id, id, input.outcome, input.callId);
    await dispatchCallMe(cx, request.auth.tenant.id);
    return reply.status(204).send();
  });
  scope.get(CALLME_API.hours, async (request) => ({ hours: await hoursOf(ctx.handle.db, request.auth.tenant.id) }));
  scope.put(CALLME_API.hours, async (request) => {
    if (request.auth.user.role !== 'admin') throw new HttpError('forbidden', 'only admins set the call-me hours');
    const hours = parseRequest(CallMeHours, request.body, 'body');
    if (!isKnownTimeZone(hours.timeZone)) throw new HttpError('invalid_input', `timeZone: unknown time zone ${JSON.stringify(hours.timeZone)}`);
    await setHours(ctx.handle, request.auth.user, request.auth.tenant.id, hours);
    return { hours: await hoursOf(ctx.handle.db, request.auth.tenant.id) };
  });
}
