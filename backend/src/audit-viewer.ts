import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { AUDIT_API, AUDIT_CSV_MAX_ROWS, AuditQuery, type AuditEntry, type AuditPage } from '../../shared/api.js';
import type { User } from '../../shared/domain.js';
import { mayViewAudit } from '../../shared/permissions.js';
import type { BackendContext } from './context.js';
import { visibleCustomerSql } from './customers/visibility.js';
import type { Database } from './db/schema.js';
import { HttpError, parseRequest } from './http/errors.js';

type Filter = Omit<AuditQuery, 'cursor' | 'limit'>;

/** A page boundary: the (at, id) of the last event shown; pages run newest first. */
interface Cursor {
  at: string;
  id: number;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id]), 'utf8').toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'string' && Number.isInteger(value[1])) return { at: value[0], id: value[1] as number };
  } catch {
    // Falls through to the error below.
  }
  throw new HttpError('invalid_input', 'query.cursor: not a cursor this server gave out');
}

function assertMayView(user: User): void {
  if (!mayViewAudit(user)) throw new HttpError('forbidden', 'only admins and supervisors see the audit log');
}

function toIso(value: string): string {
  return new Date(value).toISOString();
}

/**
 * The tenant's events matching `filter` that `viewer` may see, newest first (at, then id),
 * after `cursor`. The time bounds are compared as ISO text, which is how `at` is stored.
 */
function matchingEvents(db: Kysely<Database>, tenantId: string, viewer: User, filter: Filter, cursor: Cursor | null, limit: number) {
  if (filter.from !== undefined && filter.to !== undefined && Date.parse(filter.from) >= Date.parse(filter.to)) {
    throw new HttpError('invalid_input', 'query.from: must be before query.to');
  }
  let query = db
    .selectFrom('audit_events as a')
    .leftJoin('users as u', 'u.id', 'a.user_id')
    .leftJoin('customers as c', 'c.id', 'a.customer_id')
    .select(['a.id', 'a.at', 'a.action', 'a.user_id', 'a.customer_id', 'a.details', 'u.display_name as user_name', 'c.name as customer_name'])
    .where('a.tenant_id', '=', tenantId);
  if (viewer.role !== 'admin') {
    // Important: a supervisor must not learn the names or ids of customers hidden from them.
    query = query.where((eb) => eb.or([eb('a.customer_id', 'is', null), visibleCustomerSql(viewer, 'c')]));
  }
  if (filter.userId !== undefined) query = query.where('a.user_id', '=', filter.userId);
  if (filter.customerId !== undefined) query = query.where('a.customer_id', '=', filter.customerId);
  if (filter.action !== undefined) query = query.where('a.action', '=', filter.action);
  if (filter.from !== undefined) query = query.where('a.at', '>=', toIso(filter.from));
  if (filter.to !== undefined) query = query.where('a.at', '<', toIso(filter.to));
  if (cursor !== null) {
    query = query.where((eb) => eb.or([eb('a.at', '<', cursor.at), eb.and([eb('a.at', '=', cursor.at), eb('a.id', '<', cursor.id)])]));
  }
  return query.orderBy('a.at', 'desc').orderBy('a.id', 'desc').limit(limit);
}

function parseDetails(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

type EventRow = { id: number | string | bigint; at: string; action: string; user_id: string | null; customer_id: string | null; details: string; user_name: string | null; customer_name: string | null };

function toEntry(row: EventRow): AuditEntry {
  return {
    id: Number(row.id),
    at: row.at,
    action: row.action,
    userId: row.user_id,
    userName: row.user_name,
    customerId: row.customer_id,
    customerName: row.customer_name,
    details: parseDetails(row.details),
  };
}

export async function auditPage(db: Kysely<Database>, tenantId: string, viewer: User, query: AuditQuery): Promise<AuditPage> {
  assertMayView(viewer);
  const { cursor, limit, ...filter } = query;
  const rows = (await matchingEvents(db, tenantId, viewer, filter, cursor === undefined ? null : decodeCursor(cursor), limit + 1).execute()) as EventRow[];
  const entries = rows.slice(0, limit).map(toEntry);
  const last = entries[entries.length - 1];
  return { entries, nextCursor: rows.length > limit && last ? encodeCursor({ at: last.at, id: last.id }) : null };
}

/**
 * One CSV cell. Quoted always; a cell a spreadsheet would read as a formula (=, +, -, @, tab,
 * carriage return first) gets a leading apostrophe, so an audit export never runs anything.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${safe.replace(/"/g, '""')}"`;
}

export const AUDIT_CSV_COLUMNS = ['at', 'action', 'user_id', 'user_name', 'customer_id', 'customer_name', 'details'] as const;

/** The matching events as CSV (UTF-8 with a BOM, so spreadsheet programs read Japanese right), newest first. */
export async function auditCsv(db: Kysely<Database>, tenantId: string, viewer: User, filter: Filter): Promise<string> {
  assertMayView(viewer);
  const rows = (await matchingEvents(db, tenantId, viewer, filter, null, AUDIT_CSV_MAX_ROWS).execute()) as EventRow[];
  const lines = [AUDIT_CSV_COLUMNS.map(csvCell).join(',')];
  for (const row of rows) {
    lines.push(
      [row.at, row.action, row.user_id ?? '', row.user_name ?? '', row.customer_id ?? '', row.customer_name ?? '', row.details].map(csvCell).join(','),
    );
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export function registerAuditViewerRoutes(app: FastifyInstance, ctx: BackendContext): void {
  const { db } = ctx.handle;
  app.get(AUDIT_API.list, async (request): Promise<AuditPage> => {
    const query = parseRequest(AuditQuery, request.query, 'query');
    return auditPage(db, request.auth.tenant.id, request.auth.user, query);
  });
  app.get(AUDIT_API.exportCsv, async (request, reply) => {
    const { cursor: _cursor, limit: _limit, ...filter } = parseRequest(AuditQuery, request.query, 'query');
    const csv = await auditCsv(db, request.auth.tenant.id, request.auth.user, filter);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.csv"`)
      .header('cache-control', 'private, no-store')
      .send(csv);
  });
}
