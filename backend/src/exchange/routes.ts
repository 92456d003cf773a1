import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { API } from '../../../shared/api.js';
import { Id } from '../../../shared/domain.js';
import {
  EXCHANGE_API,
  EXPORT_RECORD_LIMIT,
  ExchangeCreateRequest,
  ExchangeDownloadQuery,
  ExchangeFilter,
  ExchangePreviewRequest,
  ExchangeShareRequest,
  resolvePolicy,
  type ExchangeExportSummary,
  type ExchangePreview,
} from '../../../shared/exchange.js';
import { isPartnerUser, mayManageExchange } from '../../../shared/permissions.js';
import { recordAudit } from '../audit.js';
import type { BackendContext } from '../context.js';
import { HttpError, parseRequest } from '../http/errors.js';
import { buildRecords, countSelection, exportedFields } from './build.js';
import { createExchangeExport, shareExchangeExport } from './exports.js';
import { exchangeDb, type ExchangeDatabase, type ExchangeExportRow } from './schema.js';
import type { Kysely } from 'kysely';

const IdParams = z.object({ id: Id });

/**
 * The only routes a `partner` user may call: its session's, and the exchange's list and
 * download. The authenticated scope's hook refuses it everything else with 403, so a route
 * added later is closed to partners unless it is added here.
 */
const PARTNER_ROUTES = new Set<string>([API.me, API.logout, `GET ${EXCHANGE_API.exports}`, `GET ${EXCHANGE_API.download}`]);

export function partnerLockout() {
  return async (request: FastifyRequest): Promise<void> => {
    if (!isPartnerUser(request.auth.user)) return;
    const route = request.routeOptions.url ?? '';
    if (PARTNER_ROUTES.has(`${request.method} ${route}`) || PARTNER_ROUTES.has(route)) return;
    throw new HttpError('forbidden', 'partner users may only use the exchange');
  };
}

function requireAdmin(request: FastifyRequest): void {
  if (!mayManageExchange(request.auth.user)) throw new HttpError('forbidden', 'only admins manage the exchange');
}

/** The partner organisations an export is shared with, by export id. */
async function sharesOf(db: Kysely<ExchangeDatabase>, tenantId: string, exportIds: string[]): Promise<Map<string, string[]>> {
  const shares = new Map<string, string[]>();
  if (exportIds.length === 0) return shares;
  const rows = await db
    .selectFrom('exchange_shares')
    .select(['export_id', 'partner_org'])
    .where('tenant_id', '=', tenantId)
    .where('export_id', 'in', exportIds)
    .orderBy('partner_org')
    .execute();
  for (const row of rows) shares.set(row.export_id, [...(shares.get(row.export_id) ?? []), row.partner_org]);
  return shares;
}

type SummaryRow = Pick<ExchangeExportRow, 'id' | 'title' | 'created_at' | 'record_count' | 'filter'> & { created_by_name: string };

function toSummary(row: SummaryRow, sharedWith: string[]): ExchangeExportSummary {
  return {
    id: row.id,
    title: row.title,
    createdAt: row.created_at,
    createdBy: row.created_by_name,
    recordCount: Number(row.record_count),
    filter: ExchangeFilter.parse(JSON.parse(row.filter)),
    sharedWith,
  };
}

/**
 * The exchange: admins preview, create and share exports; partner users list and download
 * the exports shared with their organisation (and see only that organisation among the shares).
 */
export function registerExchangeRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const db = exchangeDb(ctx.handle.db);

  // Not audited: a preview shows the admin what would leave, and nothing leaves.
  app.post(EXCHANGE_API.preview, async (request): Promise<ExchangePreview> => {
    requireAdmin(request);
    const body = parseRequest(ExchangePreviewRequest, request.body, 'body');
    const policy = resolvePolicy(body.policy);
    const { tenant } = request.auth;
    const [total, records] = await Promise.all([
      countSelection(ctx.handle.db, tenant.id, body.filter),
      buildRecords(ctx.handle.db, tenant.id, body.filter, policy, body.limit),
    ]);
    return { total: Math.min(total, EXPORT_RECORD_LIMIT), fields: exportedFields(policy), records };
  });

  app.post(EXCHANGE_API.exports, async (request): Promise<ExchangeExportSummary> => {
    requireAdmin(request);
    const body = parseRequest(ExchangeCreateRequest, request.body, 'body');
    const { user, tenant } = request.auth;
    const created = await createExchangeExport(ctx.handle.db, { tenantId: tenant.id, userId: user.id, title: body.title, filter: body.filter, policy: resolvePolicy(body.policy) });
    return toSummary(
      { id: created.id, title: body.title, created_at: created.createdAt, record_count: created.recordCount, filter: JSON.stringify(body.filter), created_by_name: user.displayName },
      [],
    );
  });

  app.get(EXCHANGE_API.exports, async (request): Promise<{ exports: ExchangeExportSummary[] }> => {
    const { user, tenant } = request.auth;
    let query = db
      .selectFrom('exchange_exports as e')
      .innerJoin('users as u', 'u.id', 'e.created_by')
      .select(['e.id', 'e.title', 'e.created_at', 'e.record_count', 'e.filter', 'u.display_name as created_by_name'])
      .where('e.tenant_id', '=', tenant.id);
    if (isPartnerUser(user)) {
      const org = user.partnerOrg ?? null;
      if (org === null) return { exports: [] };
      query = query.where('e.id', 'in', db.selectFrom('exchange_shares').select('export_id').where('tenant_id', '=', tenant.id).where('partner_org', '=', org));
    } else {
      requireAdmin(request);
    }
    const rows = await query.orderBy('e.created_at', 'desc').orderBy('e.id').limit(500).execute();
    const shares = await sharesOf(db, tenant.id, rows.map((row) => row.id));
    return {
      exports: rows.map((row) => {
        const sharedWith = shares.get(row.id) ?? [];
        return toSummary(row, isPartnerUser(user) ? sharedWith.filter((org) => org === user.partnerOrg) : sharedWith);
      }),
    };
  });

  app.get(EXCHANGE_API.download, async (request, reply: FastifyReply) => {
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { format } = parseRequest(ExchangeDownloadQuery, request.query, 'query');
    const { user, tenant } = request.auth;
    if (!isPartnerUser(user)) requireAdmin(request);
    let query = db.selectFrom('exchange_exports').select(['id', 'title', 'content_json', 'content_csv']).where('tenant_id', '=', tenant.id).where('id', '=', id);
    if (isPartnerUser(user)) {
      query = query.where('id', 'in', db.selectFrom('exchange_shares').select('export_id').where('tenant_id', '=', tenant.id).where('partner_org', '=', user.partnerOrg ?? ''));
    }
    const row = await query.executeTakeFirst();
    // A partner asking for an export not shared with it learns nothing about whether it exists.
    if (!row) throw new HttpError('not_found', 'no such export');
    await recordAudit(ctx.handle.db, { tenantId: tenant.id, userId: user.id, action: 'exchange_downloaded', details: { exportId: id, format, partnerOrg: user.partnerOrg ?? null } });
    const fileName = `exchange-${row.id}.${format}`;
    return reply
      .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="${fileName}"`)
      .header('x-content-type-options', 'nosniff')
      .send(format === 'csv' ? row.content_csv : row.content_json);
  });

  app.post(EXCHANGE_API.share, async (request): Promise<ExchangeExportSummary> => {
    requireAdmin(request);
    const { id } = parseRequest(IdParams, request.params, 'params');
    const { partnerOrg } = parseRequest(ExchangeShareRequest, request.body, 'body');
    const { user, tenant } = request.auth;
    const known = await db.selectFrom('users').select('id').where('tenant_id', '=', tenant.id).where('role', '=', 'partner').where('partner_org', '=', partnerOrg).executeTakeFirst();
    if (!known) throw new HttpError('invalid_input', `body.partnerOrg: no partner organisation named ${JSON.stringify(partnerOrg)} in this tenant`);
    const row = await db
      .selectFrom('exchange_exports as e')
      .innerJoin('users as u', 'u.id', 'e.created_by')
      .select(['e.id', 'e.title', 'e.created_at', 'e.record_count', 'e.filter', 'u.display_name as created_by_name'])
      .where('e.tenant_id', '=', tenant.id)
      .where('e.id', '=', id)
      .executeTakeFirst();
    if (!row) throw new HttpError('not_found', 'no such export');
    await shareExchangeExport(ctx.handle.db, { tenantId: tenant.id, userId: user.id, exportId: id, partnerOrg });
    const shares = await sharesOf(db, tenant.id, [id]);
    return toSummary(row, shares.get(id) ?? []);
  });

  app.get(EXCHANGE_API.partners, async (request): Promise<{ partners: string[] }> => {
    requireAdmin(request);
    const rows = await db
      .selectFrom('users')
      .select('partner_org')
      .distinct()
      .where('tenant_id', '=', request.auth.tenant.id)
      .where('role', '=', 'partner')
      .where('partner_org', 'is not', null)
      .orderBy('partner_org')
      .execute();
    return { partners: rows.map((row) => row.partner_org).filter((org): org is string => org !== null) };
  });
}
