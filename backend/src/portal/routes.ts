import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  PORTAL_API,
  PortalCodeLogin,
  PortalCodeRequest,
  PortalEventBatch,
  PortalInvitationAccept,
  PortalOrderInput,
  PortalPasswordLogin,
  type PortalEventBatchResult,
  type PortalOrder,
  PortalPageList,
  type PortalPageView,
  type PortalSession,
} from '../../../shared/portal.js';
import { recordAudit } from '../audit.js';
import { hashPassword } from '../auth/passwords.js';
import { hashToken } from '../auth/sessions.js';
import { throttleKeys } from '../auth/throttle.js';
import { WorkQueueFullError } from '../auth/work-limiter.js';
import type { BackendContext } from '../context.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { registerPortalRepRoutes } from '../rep-requests/routes.js';
import type { MailConfig } from '../mail/config.js';
import { DEFAULT_ACTIVITY_LIMITS, listOrders, placeOrder, recordEvents, type ActivityLimits } from './activity.js';
import { listVisiblePages, pageView, visiblePagesQuery } from './content.js';
import { sendPortalNotice } from './notice.js';
import { registerPortalScreenSyncRoutes } from '../screen-sync/routes.js';
import { portalDb } from './schema.js';
import { clearPortalCookie, createPortalSession, portalSessionHook, toPortalSession } from './sessions.js';

/**
 * The customer portal under /portal/:tenant: its page (built by `vite.portal.config.ts` into
 * dist/portal), its media, and its API, which only a portal session opens. Every answer carries
 * a strict CSP: the page runs only its own script and loads nothing from elsewhere.
 */

export interface PortalOptions {
  mailConfig: MailConfig;
  /** Where the built portal page is; default: dist/portal of the repository. */
  staticDir?: string;
  limits?: ActivityLimits;
  /** Tests: called with each sign-in code as it is mailed. */
  onNoticeSent?: (error: Error | null) => void;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_STATIC_DIR = path.resolve(HERE, '../../../dist/portal');

export const PORTAL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SIGN_IN_FAILED = 'wrong customer number or password';
const CODE_FAILED = 'wrong or expired code';
const CODE_MINUTES = 10;
const CODE_MAX_ATTEMPTS = 5;
const INVITATION_DAYS = 7;

const TenantParams = z.object({ tenant: z.string().min(1).max(100) });

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export function newInvitationToken(): { token: string; hash: string; expiresAt: string } {
  const token = randomBytes(24).toString('base64url');
  return { token, hash: hashToken(token), expiresAt: new Date(Date.now() + INVITATION_DAYS * 86_400_000).toISOString() };
}

/** The host of an Origin header; null for `null` (sandboxed frames, file pages) or anything unparsable. */
function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * What every scope of portal routes has (this module's and other features' under /portal/:tenant):
 * the strict CSP and its companions, and writes from a page of another origin refused even
 * before the session is looked at.
 */
export function portalScopeHooks(scope: FastifyInstance): void {
  scope.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', PORTAL_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
  });
  scope.addHook('onRequest', async (request) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const origin = request.headers.origin;
    const host = request.headers.host;
    if (origin !== undefined && host !== undefined && originHost(origin) !== host) {
      throw new HttpError('forbidden', 'origin: requests to the portal must come from the portal');
    }
  });
}

export function registerPortalRoutes(app: FastifyInstance, ctx: BackendContext, options: PortalOptions): void {
  const { db } = ctx.handle;
  const pdb = portalDb(db);
  const staticDir = options.staticDir ?? DEFAULT_STATIC_DIR;
  const limits = options.limits ?? DEFAULT_ACTIVITY_LIMITS;

  const tenantOf = async (request: FastifyRequest) => {
    const { tenant } = parseRequest(TenantParams, request.params, 'params');
    const row = await db.selectFrom('tenants').select(['id', 'slug', 'name']).where('slug', '=', tenant).executeTakeFirst();
    if (!row) throw new HttpError('not_found', 'no such portal');
    return row;
  };
  const customerByCode = async (tenantId: string, code: string) =>
    pdb
      .selectFrom('customers as c')
      .leftJoin('portal_accounts as a', 'a.customer_id', 'c.id')
      .select(['c.id', 'c.name', 'a.password_hash'])
      .where('c.tenant_id', '=', tenantId)
      .where('c.code', '=', code)
      .executeTakeFirst();
  /** The throttle of staff logins, with keys of their own (`portal:` tenant), so portal floods lock no staff account. */
  const admit = async (request: FastifyRequest, tenantSlug: string, code: string) => {
    const keys = throttleKeys(`portal:${tenantSlug}`, code, request.ip);
    const admission = await ctx.throttle.admit(keys);
    if (!admission.admitted) {
      throw new HttpError('rate_limited', `too many sign-in attempts; try again in ${admission.retryAfterSeconds} s`, admission.retryAfterSeconds);
    }
    return keys;
  };

  app.register(async (scope) => {
    portalScopeHooks(scope);

    // The page: index.html for the tenant's root (hash routing below it), and the built assets.
    const sendIndex = async (request: FastifyRequest, reply: FastifyReply) => {
      await tenantOf(request);
      const html = await readFile(path.join(staticDir, 'index.html'), 'utf8').catch(() => null);
      if (html === null) throw new HttpError('internal', 'the portal page is not built: run `npm run build:portal`');
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
    };
    scope.get('/portal/:tenant', (request, reply) => reply.redirect(`${request.url.split('?')[0]}/`));
    scope.get('/portal/:tenant/', sendIndex);
    scope.get('/portal/assets/:file', async (request, reply) => {
      const { file } = parseRequest(z.object({ file: z.string() }), request.params, 'params');
      // Only plain names of the build's assets folder: nothing with a path separator or a leading dot.
      const plain = /^[\w-][\w.-]*$/.test(file);
      const type = plain ? CONTENT_TYPES[path.extname(file)] : undefined;
      const bytes = type ? await readFile(path.join(staticDir, 'assets', file)).catch(() => null) : null;
      if (!bytes || !type) throw new HttpError('not_found', 'no such file');
      return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').send(bytes);
    });
    // Signing in: rate-limited per address before anything is parsed, then throttled per code and address.
    scope.register(async (signIn) => {
      await signIn.register(rateLimit, {
        max: ctx.config.login.requestsPerMinute,
        timeWindow: 60_000,
        errorResponseBuilder: (_request, context) => new HttpError('rate_limited', 'too many sign-in requests from this address', Math.max(1, Math.ceil(context.ttl / 1000))),
      });
      signIn.post(`/portal/:tenant${PORTAL_API.login}`, async (request, reply): Promise<PortalSession> => {
        const tenant = await tenantOf(request);
        const body = parseRequest(PortalPasswordLogin, request.body, 'body');
        const keys = await admit(request, tenant.slug, body.customerCode);
        const customer = await customerByCode(tenant.id, body.customerCode);
        let ok: boolean;
        try {
          // An unknown code or one without a password costs the same argon2 work as a wrong password.
          ok = await ctx.passwords.verifyOrDecoy(customer?.password_hash ?? null, body.password);
        } catch (error) {
          if (!(error instanceof WorkQueueFullError)) throw error;
          await ctx.throttle.withdrawn(keys);
          throw new HttpError('rate_limited', 'the server is checking many sign-ins right now; try again in 1 s', 1);
        }
        if (!customer || !ok) {
          throw new HttpError('unauthenticated', SIGN_IN_FAILED);
        }
        await ctx.throttle.succeeded(keys);
        await createPortalSession(db, reply, request, tenant, customer.id);
        await recordAudit(db, { tenantId: tenant.id, userId: null, action: 'portal_login', customerId: customer.id, details: { via: 'password', ip: request.ip } });
        return toPortalSession(request.portal);
      });

      signIn.post(`/portal/:tenant${PORTAL_API.loginCode}`, async (request, reply) => {
        const tenant = await tenantOf(request);
        const body = parseRequest(PortalCodeRequest, request.body, 'body');
        await admit(request, tenant.slug, body.customerCode);
        // admit() counted this request, and nothing takes it back: code requests cannot mail-bomb a customer.
        const customer = await customerByCode(tenant.id, body.customerCode);
        const address = customer
          ? await db
              .selectFrom('customer_emails')
              .select('email')
              .where('customer_id', '=', customer.id)
              .where((eb) => eb(eb.fn('lower', ['email']), '=', body.email.toLowerCase()))
              .executeTakeFirst()
          : undefined;
        const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
        const now = new Date();
        if (customer && address) {
          await pdb
            .insertInto('portal_login_codes')
            .values({
              id: randomUUID(),
              tenant_id: tenant.id,
              customer_id: customer.id,
              code_hash: sha256(`${customer.id}:${code}`),
              attempts: 0,
              expires_at: new Date(now.getTime() + CODE_MINUTES * 60_000).toISOString(),
              used_at: null,
              created_at: now.toISOString(),
            })
            .execute();
          // Sent after the answer: how long the relay takes must not tell whether the code exists.
          void sendPortalNotice(db, options.mailConfig, tenant.id, {
            to: address.email,
            subject: `${tenant.name} ポータル サインインコード / sign-in code`,
            text: `サインインコード / Your sign-in code: ${code}\n\n${CODE_MINUTES}分間有効です。 Valid for ${CODE_MINUTES} minutes.\n`,
          }).then(
            () => options.onNoticeSent?.(null),
            (error: unknown) => {
              request.log.warn({ err: error }, 'portal: the sign-in code mail failed');
              options.onNoticeSent?.(error instanceof Error ? error : new Error(String(error)));
            },
          );
        } else {
          // The same work as a real request (one hash, one write-sized wait) without storing anything.
          sha256(`${randomUUID()}:${code}`);
        }
        return reply.status(202).send({ message: 'if the customer number and address match, a code was sent' });
      });

      signIn.post(`/portal/:tenant${PORTAL_API.loginCodeVerify}`, async (request, reply): Promise<PortalSession> => {
        const tenant = await tenantOf(request);
        const body = parseRequest(PortalCodeLogin, request.body, 'body');
        const keys = await admit(request, tenant.slug, body.customerCode);
        const customer = await customerByCode(tenant.id, body.customerCode);
        const nowIso = new Date().toISOString();
        const pending = customer
          ? await pdb
              .selectFrom('portal_login_codes')
              .selectAll()
              .where('customer_id', '=', customer.id)
              .where('used_at', 'is', null)
              .where('expires_at', '>', nowIso)
              .orderBy('created_at', 'desc')
              .executeTakeFirst()
          : undefined;
        const match = pending !== undefined && pending.attempts < CODE_MAX_ATTEMPTS && sameHash(pending.code_hash, sha256(`${customer!.id}:${body.code}`));
        if (!customer || !pending || !match) {
          if (pending) await pdb.updateTable('portal_login_codes').set({ attempts: pending.attempts + 1 }).where('id', '=', pending.id).execute();
          throw new HttpError('unauthenticated', CODE_FAILED);
        }
        const used = await pdb.updateTable('portal_login_codes').set({ used_at: nowIso }).where('id', '=', pending.id).where('used_at', 'is', null).executeTakeFirst();
        if (Number(used.numUpdatedRows) !== 1) throw new HttpError('unauthenticated', CODE_FAILED);
        await ctx.throttle.succeeded(keys);
        await createPortalSession(db, reply, request, tenant, customer.id);
        await recordAudit(db, { tenantId: tenant.id, userId: null, action: 'portal_login', customerId: customer.id, details: { via: 'email_code', ip: request.ip } });
        return toPortalSession(request.portal);
      });

      signIn.post(`/portal/:tenant${PORTAL_API.invitation}`, async (request, reply): Promise<PortalSession> => {
        const tenant = await tenantOf(request);
        const body = parseRequest(PortalInvitationAccept, request.body, 'body');
        const account = await pdb
          .selectFrom('portal_accounts')
          .select(['customer_id', 'invitation_expires_at'])
          .where('tenant_id', '=', tenant.id)
          .where('invitation_hash', '=', hashToken(body.token))
          .executeTakeFirst();
        if (!account || (account.invitation_expires_at ?? '') <= new Date().toISOString()) {
          throw new HttpError('unauthenticated', 'token: this invitation link is unknown, used or expired; ask for a new one');
        }
        const passwordHash = await hashPassword(body.password, ctx.config.argon2);
        await pdb
          .updateTable('portal_accounts')
          .set({ password_hash: passwordHash, invitation_hash: null, invitation_expires_at: null, updated_at: new Date().toISOString() })
          .where('customer_id', '=', account.customer_id)
          .execute();
        await createPortalSession(db, reply, request, tenant, account.customer_id);
        await recordAudit(db, { tenantId: tenant.id, userId: null, action: 'portal_password_set', customerId: account.customer_id, details: { ip: request.ip } });
        return toPortalSession(request.portal);
      });
    });

    // Signed in: the cookie's session of this tenant, CSRF header on writes.
    scope.register(async (signedIn) => {
      signedIn.addHook('onRequest', portalSessionHook(db));
      signedIn.get(`/portal/:tenant${PORTAL_API.session}`, async (request): Promise<PortalSession> => toPortalSession(request.portal));
      signedIn.delete(`/portal/:tenant${PORTAL_API.session}`, async (request, reply) => {
        await pdb.deleteFrom('portal_sessions').where('token_hash', '=', request.portal.tokenHash).execute();
        clearPortalCookie(reply, request.portal.tenantSlug);
        return reply.status(204).send();
      });
      const who = (request: FastifyRequest) => ({ id: request.portal.customerId, rank: request.portal.rank });
      signedIn.get(`/portal/:tenant${PORTAL_API.pages}`, async (request): Promise<z.infer<typeof PortalPageList>> => ({
        pages: await listVisiblePages(db, request.portal.tenantId, who(request)),
      }));
      signedIn.get(`/portal/:tenant${PORTAL_API.page}`, async (request): Promise<PortalPageView> => {
        const { slug } = parseRequest(z.object({ tenant: z.string(), slug: z.string().max(80) }), request.params, 'params');
        const row = await visiblePagesQuery(db, request.portal.tenantId, who(request)).selectAll('p').where('p.slug', '=', slug).executeTakeFirst();
        // Important: a page above the customer's rank or limited to others is "not found", never "forbidden".
        if (!row) throw new HttpError('not_found', 'no such page');
        const owned = await pdb.selectFrom('customer_products').select('product_id').where('customer_id', '=', request.portal.customerId).where('product_id', '=', row.id).executeTakeFirst();
        return pageView(row, request.portal.tenantSlug, owned !== undefined);
      });
      // An image or video only for a customer who may see a page that shows it: 404 otherwise, like the page.
      signedIn.get('/portal/:tenant/media/:id', async (request, reply) => {
        const { id } = parseRequest(z.object({ tenant: z.string(), id: z.string().max(64) }), request.params, 'params');
        const shown = await visiblePagesQuery(db, request.portal.tenantId, who(request))
          .select('p.id')
          .where((eb) => eb.or([eb('p.video_id', '=', id), eb('p.image_ids', 'like', `%${JSON.stringify(id).replace(/[%_]/g, '')}%`)]))
          .executeTakeFirst();
        const media = shown
          ? await pdb.selectFrom('portal_media').select(['content_type', 'bytes']).where('tenant_id', '=', request.portal.tenantId).where('id', '=', id).executeTakeFirst()
          : undefined;
        if (!media) throw new HttpError('not_found', 'no such file');
        return reply.type(media.content_type).header('cache-control', 'private, max-age=3600').send(Buffer.from(media.bytes));
      });
      signedIn.post(`/portal/:tenant${PORTAL_API.events}`, async (request): Promise<PortalEventBatchResult> => {
        const batch = parseRequest(PortalEventBatch, request.body, 'body');
        return recordEvents(ctx.handle, { tenantId: request.portal.tenantId, customerId: request.portal.customerId, rank: request.portal.rank }, batch, limits);
      });
      registerPortalRepRoutes(signedIn, ctx, options.mailConfig);
      signedIn.get(`/portal/:tenant${PORTAL_API.orders}`, async (request) => ({ orders: await listOrders(ctx.handle, request.portal.customerId) }));
      signedIn.post(`/portal/:tenant${PORTAL_API.orders}`, async (request, reply): Promise<PortalOrder> => {
        const input = parseRequest(PortalOrderInput, request.body, 'body');
        const { tenantId, customerId, rank } = request.portal;
        const { order, created } = await placeOrder(ctx.handle, { tenantId, customerId, rank }, input);
        if (created) {
          order.confirmation = await confirmOrder(request, order);
          await recordAudit(db, { tenantId, userId: null, action: 'portal_order', customerId, details: { orderId: order.id, productId: order.productId, quantity: order.quantity } });
        }
        return reply.status(created ? 201 : 200).send(order);
      });
      registerPortalScreenSyncRoutes(signedIn, ctx);
    });
  });

  /** The confirmation mail, to the customer's first address; its outcome is kept on the order. */
  async function confirmOrder(request: FastifyRequest, order: PortalOrder): Promise<PortalOrder['confirmation']> {
    const { tenantId, customerId, customerName } = request.portal;
    const address = await db.selectFrom('customer_emails').select('email').where('customer_id', '=', customerId).orderBy('position').executeTakeFirst();
    let confirmation: PortalOrder['confirmation'] = 'no_address';
    if (address) {
      try {
        await sendPortalNotice(db, options.mailConfig, tenantId, {
          to: address.email,
          subject: `ご注文を承りました / Order received: ${order.productTitle}`,
          text:
            `${customerName} 様\n\n以下のご注文を承りました。 We have received your order.\n\n` +
            `${order.productTitle} × ${order.quantity}\n注文番号 / Order: ${order.id}\n` +
            (order.note ? `\nご連絡事項 / Note: ${order.note}\n` : ''),
        });
        confirmation = 'sent';
      } catch (error) {
        request.log.warn({ err: error, orderId: order.id }, 'portal: the order confirmation mail failed');
        confirmation = 'failed';
      }
    }
    await portalDb(db).updateTable('portal_orders').set({ confirmation }).where('id', '=', order.id).execute();
    return confirmation;
  }
}
