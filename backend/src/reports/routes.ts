import type { FastifyInstance } from 'fastify';
import { REPORTS_API, ReportQuery, type ReportPage } from '../../../shared/reports.js';
import type { BackendContext } from '../context.js';
import { parseRequest } from '../http/errors.js';
import { loadMailConfig } from '../mail/config.js';
import { reportCsv, reportPage, type ReportScope } from './queries.js';

export interface ReportRouteOptions {
  /** IANA zone of the report's days, weeks and months when the tenant has none of its own (TSUNAGU_TIME_ZONE). */
  timeZone?: string;
}

export function registerReportRoutes(app: FastifyInstance, ctx: BackendContext, options: ReportRouteOptions = {}): void {
  const timeZone = options.timeZone ?? loadMailConfig().timeZone;
  // The tenant's own zone (admin console, migration 029) wins over the deployment's.
  const scopeOf = async (tenantId: string): Promise<ReportScope> => {
    const tenant = await ctx.handle.db.selectFrom('tenants').select('time_zone').where('id', '=', tenantId).executeTakeFirst();
    return { db: ctx.handle.db, dialect: ctx.handle.dialect, tenantId, timeZone: tenant?.time_zone ?? timeZone };
  };
  app.get(REPORTS_API.page, async (request): Promise<ReportPage> => {
    const query = parseRequest(ReportQuery, request.query, 'query');
    return reportPage(await scopeOf(request.auth.tenant.id), request.auth.user, query);
  });
  app.get(REPORTS_API.exportCsv, async (request, reply) => {
    const { cursor: _cursor, limit: _limit, ...query } = parseRequest(ReportQuery, request.query, 'query');
    const csv = await reportCsv(await scopeOf(request.auth.tenant.id), request.auth.user, query);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="report-${query.period}-${query.from}-${query.to}.csv"`)
      .header('cache-control', 'private, no-store')
      .send(csv);
  });
}
