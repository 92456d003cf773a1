import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Id } from '../../../shared/domain.js';
import { mayChangeCustomerVisibility, mayManageTelephony, maySeeCustomer } from '../../../shared/permissions.js';
import {
  PORTAL_STAFF_API,
  PortalMediaUpload,
  PortalPageInput,
  PortalRankInput,
  portalBase,
  type CustomerPortalInfo,
  type PortalAdminPage,
  type PortalInvitation,
} from '../../../shared/portal.js';
import { recordAudit } from '../audit.js';
import type { BackendContext } from '../context.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { deletePage, listAdminPages, mediaUrl, savePage, storeMedia } from './content.js';
import { newInvitationToken } from './routes.js';
import { portalDb } from './schema.js';

/**
 * The staff side of the portal (bearer sessions only): a customer's portal account in the
 * customer panel (rank by supervisors and admins, invitation links), and the content admins edit.
 */
export function registerPortalStaffRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const { db } = ctx.handle;
  const pdb = portalDb(db);

  /** A customer the user may see, or 404 as for one that does not exist. */
  const visibleCustomer = async (request: FastifyRequest) => {
    const { id } = parseRequest(z.object({ id: Id }), request.params, 'params');
    const { user, tenant } = request.auth;
    const customer = await db.selectFrom('customers').select(['id', 'classification', 'branch']).where('tenant_id', '=', tenant.id).where('id', '=', id).executeTakeFirst();
    if (!customer || !maySeeCustomer(user, { classification: customer.classification as 1 | 2 | 3, branch: customer.branch })) {
      throw new HttpError('not_found', 'no such customer');
    }
    return customer.id;
  };
  const ensureAccount = async (tenantId: string, customerId: string) =>
    pdb
      .insertInto('portal_accounts')
      .values({ customer_id: customerId, tenant_id: tenantId, rank: 1, password_hash: null, invitation_hash: null, invitation_expires_at: null, updated_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('customer_id').doNothing())
      .execute();
  const info = async (customerId: string): Promise<CustomerPortalInfo> => {
    const account = await pdb.selectFrom('portal_accounts').selectAll().where('customer_id', '=', customerId).executeTakeFirst();
    const owned = await pdb
      .selectFrom('customer_products as cp')
      .innerJoin('portal_pages as p', 'p.id', 'cp.product_id')
      .select(['cp.product_id', 'p.title', 'cp.quantity', 'cp.last_ordered_at'])
      .where('cp.customer_id', '=', customerId)
      .orderBy('cp.last_ordered_at', 'desc')
      .execute();
    return {
      customerId,
      rank: account?.rank ?? 1,
      hasPassword: (account?.password_hash ?? null) !== null,
      invitationPending: (account?.invitation_expires_at ?? '') > new Date().toISOString(),
      ownedProducts: owned.map((row) => ({ productId: row.product_id, title: row.title, quantity: row.quantity, lastOrderedAt: row.last_ordered_at })),
    };
  };

  app.get(PORTAL_STAFF_API.customer, async (request) => info(await visibleCustomer(request)));

  app.put(PORTAL_STAFF_API.rank, async (request) => {
    const customerId = await visibleCustomer(request);
    const { user, tenant } = request.auth;
    if (!mayChangeCustomerVisibility(user)) throw new HttpError('forbidden', 'only supervisors and admins set a customer’s portal rank');
    const { rank } = parseRequest(PortalRankInput, request.body, 'body');
    await ensureAccount(tenant.id, customerId);
    const before = await info(customerId);
    await pdb.updateTable('portal_accounts').set({ rank, updated_at: new Date().toISOString() }).where('customer_id', '=', customerId).execute();
    // Open portal sessions read the rank on every request, so the change shows at the next page.
    await recordAudit(db, { tenantId: tenant.id, userId: user.id, action: 'portal_rank_changed', customerId, details: { from: before.rank, to: rank } });
    return info(customerId);
  });

  app.post(PORTAL_STAFF_API.invitation, async (request): Promise<PortalInvitation> => {
    const customerId = await visibleCustomer(request);
    const { user, tenant } = request.auth;
    await ensureAccount(tenant.id, customerId);
    const invitation = newInvitationToken();
    await pdb
      .updateTable('portal_accounts')
      .set({ invitation_hash: invitation.hash, invitation_expires_at: invitation.expiresAt, updated_at: new Date().toISOString() })
      .where('customer_id', '=', customerId)
      .execute();
    await recordAudit(db, { tenantId: tenant.id, userId: user.id, action: 'portal_invited', customerId, details: { expiresAt: invitation.expiresAt } });
    const origin = `${request.protocol}://${request.headers.host ?? `${ctx.config.host}:${ctx.config.port}`}`;
    return { url: `${origin}${portalBase(tenant.slug)}/#/invite/${invitation.token}`, expiresAt: invitation.expiresAt };
  });

  const requireAdmin = (request: FastifyRequest) => {
    if (!mayManageTelephony(request.auth.user)) throw new HttpError('forbidden', 'only admins edit the portal');
  };
  app.get(PORTAL_STAFF_API.pages, async (request): Promise<{ pages: PortalAdminPage[] }> => {
    requireAdmin(request);
    return { pages: await listAdminPages(db, request.auth.tenant.id) };
  });
  app.post(PORTAL_STAFF_API.pages, async (request, reply) => {
    requireAdmin(request);
    const input = parseRequest(PortalPageInput, request.body, 'body');
    return reply.status(201).send(await savePage(db, request.auth.tenant.id, null, input));
  });
  app.put(PORTAL_STAFF_API.page, async (request) => {
    requireAdmin(request);
    const { id } = parseRequest(z.object({ id: Id }), request.params, 'params');
    const input = parseRequest(PortalPageInput, request.body, 'body');
    return savePage(db, request.auth.tenant.id, id, input);
  });
  app.delete(PORTAL_STAFF_API.page, async (request) => {
    requireAdmin(request);
    const { id } = parseRequest(z.object({ id: Id }), request.params, 'params');
    const { user, tenant } = request.auth;
    const { title } = await deletePage(db, tenant.id, id);
    await recordAudit(db, { tenantId: tenant.id, userId: user.id, action: 'portal_page_deleted', details: { pageId: id, title } });
    return { deleted: true };
  });
  app.post(PORTAL_STAFF_API.media, async (request, reply) => {
    requireAdmin(request);
    const body = parseRequest(PortalMediaUpload, request.body, 'body');
    const id = await storeMedia(db, request.auth.tenant.id, body.contentType, body.data);
    return reply.status(201).send({ id, url: mediaUrl(request.auth.tenant.slug, id) });
  });
}
