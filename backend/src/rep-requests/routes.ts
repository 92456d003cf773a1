import type { FastifyInstance } from 'fastify';
import { PORTAL_REP_API, PortalRepRequestInput, REP_ROUTING_API, RepRoutingInput, type PortalAddress, type PortalRepRequestResult, type RepRoutingSettings } from '../../../shared/rep-requests.js';
import type { BackendContext } from '../context.js';
import { parseRequest } from '../http/errors.js';
import type { MailConfig } from '../mail/config.js';
import { raiseRepRequest } from './raise.js';
import { readRepRouting, saveRepRouting } from './settings.js';

/** Staff (bearer session): the admins' coverage table and routing settings. */
export function registerRepRoutingRoutes(app: FastifyInstance, ctx: BackendContext): void {
  app.get(REP_ROUTING_API.settings, async (request): Promise<RepRoutingSettings> => readRepRouting(ctx.handle.db, request.auth.user));
  app.put(REP_ROUTING_API.settings, async (request): Promise<RepRoutingSettings> => {
    const input = parseRequest(RepRoutingInput, request.body, 'body');
    return saveRepRouting(ctx.handle, request.auth.user, input);
  });
}

/**
 * The portal's "contact my rep", material requests and address changes. Registered by
 * portal/routes.ts inside its signed-in scope, so the portal session, CSRF check and CSP apply.
 */
export function registerPortalRepRoutes(signedIn: FastifyInstance, ctx: BackendContext, mailConfig: MailConfig): void {
  signedIn.post(`/portal/:tenant${PORTAL_REP_API.requests}`, async (request, reply): Promise<PortalRepRequestResult> => {
    const input = parseRequest(PortalRepRequestInput, request.body, 'body');
    const { tenantId, customerId, rank } = request.portal;
    const { result, created } = await raiseRepRequest(ctx.handle, mailConfig, request.log, { tenantId, customerId, rank }, input);
    return reply.status(created ? 201 : 200).send(result);
  });
  signedIn.get(`/portal/:tenant${PORTAL_REP_API.address}`, async (request): Promise<PortalAddress> => {
    const row = await ctx.handle.db
      .selectFrom('customers')
      .select(['postal_code', 'address'])
      .where('tenant_id', '=', request.portal.tenantId)
      .where('id', '=', request.portal.customerId)
      .executeTakeFirstOrThrow();
    return { postalCode: row.postal_code, address: row.address };
  });
}
