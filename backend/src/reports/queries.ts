import type { User } from '../../../shared/domain.js';
import { mayViewReports } from '../../../shared/permissions.js';
import {
  reportBuckets,
  REPORT_FIGURE_COLUMNS,
  type ReportBucket,
  type ReportGroup,
  type ReportGrouping,
  type ReportPage,
  type ReportQuery,
  type ReportRow,
} from '../../../shared/reports.js';
import { csvCell } from '../audit-viewer.js';
import { HttpError } from '../http/errors.js';
import { liveReportFigures, type ReportScope, type TallyTimes } from './figures.js';
import { rolledUpFigures } from './rollup.js';

/** The CSV carries every group; a tenant has far fewer users or branches than this. */
const CSV_MAX_GROUPS = 5_000;

export type { ReportScope, TallyTimes };

function assertMayView(user: User): void {
  if (!mayViewReports(user)) throw new HttpError('forbidden', 'only admins and supervisors see reports');
}

function bucketsOf(query: Pick<ReportQuery, 'from' | 'to' | 'period'>, timeZone: string): ReportBucket[] {
  try {
    return reportBuckets(query.from, query.to, query.period, timeZone);
  } catch (error) {
    if (error instanceof RangeError) throw new HttpError('invalid_input', error.message);
    throw error;
  }
}

// ── Groups and their pages ──

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64url');
}

function decodeCursor(text: string): number {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    const offset = (value as { offset?: unknown } | null)?.offset;
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // Falls through to the error below.
  }
  throw new HttpError('invalid_input', 'query.cursor: not a cursor this server gave out');
}

/**
 * Every group of the report in order: first "" (figures that are nobody's, or of no branch),
 * then the tenant's staff by name (operator) or the branches of its users and customers by name.
 */
async function allGroups(scope: ReportScope, groupBy: ReportGrouping): Promise<ReportGroup[]> {
  const nobody: ReportGroup = { key: '', name: null };
  if (groupBy === 'operator') {
    const users = await scope.db
      .selectFrom('users')
      .select(['id', 'display_name'])
      .where('tenant_id', '=', scope.tenantId)
      .where('role', '!=', 'partner')
      .orderBy('display_name')
      .orderBy('id')
      .execute();
    return [nobody, ...users.map((u) => ({ key: u.id, name: u.display_name }))];
  }
  const fromUsers = await scope.db.selectFrom('users').select('branch').distinct().where('tenant_id', '=', scope.tenantId).where('branch', 'is not', null).execute();
  const fromCustomers = await scope.db.selectFrom('customers').select('branch').distinct().where('tenant_id', '=', scope.tenantId).where('branch', 'is not', null).execute();
  const names = [...new Set([...fromUsers, ...fromCustomers].map((row) => row.branch as string))].sort();
  return [nobody, ...names.map((name) => ({ key: name, name }))];
}

// ── The figures ──

/** How the figures are counted: from the daily rollup (the default), or all from the base tables (the reference). */
export type ReportSource = 'rollup' | 'live';

/** The figures of `groupKeys` in every bucket, as rows where some figure is not zero. */
export function reportFigures(
  scope: ReportScope,
  buckets: ReportBucket[],
  groupBy: ReportGrouping,
  groupKeys: string[],
  now = new Date(),
  times?: TallyTimes,
  source: ReportSource = 'rollup',
): Promise<ReportRow[]> {
  return source === 'live' ? liveReportFigures(scope, buckets, groupBy, groupKeys, now, times) : rolledUpFigures(scope, buckets, groupBy, groupKeys, now, times);
}

/** GET /api/reports: one page of groups with their figures in every period. */
export async function reportPage(
  scope: ReportScope,
  viewer: User,
  query: ReportQuery,
  now = new Date(),
  times?: TallyTimes,
  source: ReportSource = 'rollup',
): Promise<ReportPage> {
  assertMayView(viewer);
  const buckets = bucketsOf(query, scope.timeZone);
  const offset = query.cursor === undefined ? 0 : decodeCursor(query.cursor);
  const groups = await allGroups(scope, query.groupBy);
  const page = groups.slice(offset, offset + query.limit);
  const rows = await reportFigures(scope, buckets, query.groupBy, page.map((g) => g.key), now, times, source);
  return {
    timeZone: scope.timeZone,
    period: query.period,
    groupBy: query.groupBy,
    buckets,
    groups: page,
    rows,
    nextCursor: offset + query.limit < groups.length ? encodeCursor(offset + query.limit) : null,
  };
}

export const REPORT_CSV_COLUMNS = ['period_start', 'group_key', 'group_name', ...REPORT_FIGURE_COLUMNS.map(([name]) => name)] as const;

/** The report of every group as CSV (UTF-8 with a BOM, formula-safe cells), by period then group. */
export async function reportCsv(
  scope: ReportScope,
  viewer: User,
  query: Omit<ReportQuery, 'cursor' | 'limit'>,
  now = new Date(),
  source: ReportSource = 'rollup',
): Promise<string> {
  assertMayView(viewer);
  const buckets = bucketsOf(query, scope.timeZone);
  const groups = (await allGroups(scope, query.groupBy)).slice(0, CSV_MAX_GROUPS);
  const names = new Map(groups.map((g) => [g.key, g.name ?? '']));
  const rows = await reportFigures(scope, buckets, query.groupBy, groups.map((g) => g.key), now, undefined, source);
  const lines = [REPORT_CSV_COLUMNS.map(csvCell).join(',')];
  for (const row of rows) {
    const figures = REPORT_FIGURE_COLUMNS.map(([, read]) => {
      const value = read(row);
      return value === null ? '' : String(value);
    });
    lines.push([row.bucket, row.group, names.get(row.group) ?? '', ...figures].map(csvCell).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
