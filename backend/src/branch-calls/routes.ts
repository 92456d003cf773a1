import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import {
  CALLS_FOR_YOU_API,
  CallbackTemplateInput,
  CallKey,
  CallsForYouQuery,
  type CallbackTemplateResponse,
  type CallbackText,
  type CallsForYouResponse,
  type SeminarsResponse,
} from '../../../shared/calls-for-you.js';
import type { Classification } from '../../../shared/domain.js';
import { mayCreateCustomer, maySeeCallFrom } from '../../../shared/permissions.js';
import type { BackendContext } from '../context.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { loadMailConfig } from '../mail/config.js';
import { repRequestIdOfKey } from '../../../shared/rep-requests.js';
import { repRequestDb } from '../rep-requests/schema.js';
import { listCallsForYou } from './list.js';
import { branchCallsDb } from './schema.js';
import { callbackTemplate, callbackValues, renderCallbackText, saveCallbackTemplate } from './template.js';

const KeyParams = z.object({ key: CallKey });

export interface BranchCallsRouteOptions {
  /** IANA zone of the dates and times in callback texts (TSUNAGU_TIME_ZONE). */
  timeZone?: string;
}

/**
 * "Calls for you": the list (GET), the callback text template (GET, PUT by admins), one call's
 * callback text, and the tenant's seminars. Marking a call handled is an outbox entry
 * (`handle_call` on POST /api/sync/push), so it works offline and applies once.
 */
export function registerBranchCallRoutes(app: FastifyInstance, ctx: BackendContext, options: BranchCallsRouteOptions = {}): void {
  const timeZone = options.timeZone ?? loadMailConfig().timeZone;
  const db = branchCallsDb(ctx.handle.db);

  app.get(CALLS_FOR_YOU_API.list, async (request): Promise<CallsForYouResponse> => {
    const { scope } = parseRequest(CallsForYouQuery, request.query, 'query');
    return listCallsForYou(ctx.handle, request.auth.user, scope);
  });

  app.get(CALLS_FOR_YOU_API.template, async (request): Promise<CallbackTemplateResponse> => callbackTemplate(ctx.handle.db, request.auth.tenant.id));

  app.put(CALLS_FOR_YOU_API.template, async (request): Promise<CallbackTemplateResponse> => {
    const input = parseRequest(CallbackTemplateInput, request.body, 'body');
    return saveCallbackTemplate(ctx.handle, request.auth.user, input);
  });

  app.get(CALLS_FOR_YOU_API.callbackText, async (request): Promise<CallbackText> => {
    const { key } = parseRequest(KeyParams, request.params, 'params');
    const { user, tenant } = request.auth;
    const requestId = repRequestIdOfKey(key);
    // A portal request's "call" is the request itself: its time, and the customer's first phone.
    const legs =
      requestId !== null
        ? await repRequestDb(ctx.handle.db)
            .selectFrom('rep_requests as r')
            .leftJoin('customer_phones as p', (join) => join.onRef('p.customer_id', '=', 'r.customer_id').on('p.position', '=', 0))
            .select(['r.customer_id', 'r.created_at as started_at', (eb) => eb.fn.coalesce('p.e164', sql<string>`''`).as('from_number')])
            .where('r.tenant_id', '=', tenant.id)
            .where('r.id', '=', requestId)
            .execute()
        : await db
            .selectFrom('calls')
            .select(['customer_id', 'from_number', 'started_at'])
            .where('tenant_id', '=', tenant.id)
            .where('direction', '=', 'inbound')
            .where((eb) => eb.or([eb('external_id', '=', key), eb.and([eb('external_id', 'is', null), eb('id', '=', key)])]))
            .orderBy('started_at')
            .execute();
    const first = legs[0];
    if (!first) throw new HttpError('not_found', 'key: no such call');
    const customerId = legs.find((leg) => leg.customer_id !== null)?.customer_id ?? null;
    const customer = customerId
      ? await db.selectFrom('customers').select(['id', 'name', 'branch', 'classification']).where('tenant_id', '=', tenant.id).where('id', '=', customerId).executeTakeFirst()
      : undefined;
    const allowed = customer
      ? maySeeCallFrom(user, { classification: customer.classification as Classification, branch: customer.branch })
      : customerId === null && mayCreateCustomer(user);
    if (!allowed) throw new HttpError('not_found', 'key: no such call');
    const email = customer
      ? await db.selectFrom('customer_emails').select('email').where('customer_id', '=', customer.id).orderBy('position').executeTakeFirst()
      : undefined;
    const values = callbackValues(
      user,
      tenant.name,
      { customerName: customer?.name ?? null, customerBranch: customer?.branch ?? null, fromNumber: first.from_number, startedAt: first.started_at },
      timeZone,
    );
    const template = await callbackTemplate(ctx.handle.db, tenant.id);
    return { subject: renderCallbackText(template.subject, values), body: renderCallbackText(template.body, values), toAddress: email?.email ?? null };
  });

  app.get(CALLS_FOR_YOU_API.seminars, async (request): Promise<SeminarsResponse> => {
    const rows = await db
      .selectFrom('seminars')
      .selectAll()
      .where('tenant_id', '=', request.auth.tenant.id)
      .where('starts_at', '>=', new Date().toISOString())
      .orderBy('starts_at')
      .limit(200)
      .execute();
    return {
      seminars: rows.map((row) => ({
        id: row.id,
        title: row.title,
        startsAt: new Date(row.starts_at).toISOString(),
        place: row.place,
        capacity: row.capacity,
        seatsLeft: Math.max(0, row.capacity - row.seats_taken),
      })),
    };
  });
}
