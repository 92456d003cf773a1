import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { User } from '../../../shared/domain.js';
import { mayViewReports } from '../../../shared/permissions.js';
import {
  emptyFigures,
  reportBuckets,
  REPORT_FIGURE_COLUMNS,
  type ReportBucket,
  type ReportFigures,
  type ReportGroup,
  type ReportGrouping,
  type ReportPage,
  type ReportQuery,
  type ReportRow,
} from '../../../shared/reports.js';
import { csvCell } from '../audit-viewer.js';
import type { SqlDialect } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { HttpError } from '../http/errors.js';

/** The CSV carries every group; a tenant has far fewer users or branches than this. */
const CSV_MAX_GROUPS = 5_000;

export interface ReportScope {
  db: Kysely<Database>;
  dialect: SqlDialect;
  tenantId: string;
  timeZone: string;
}

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

type Dialectal = (dialect: SqlDialect) => RawBuilder<unknown>;

/** Seconds from one ISO text column to another. */
function secondsBetween(from: string, to: string): Dialectal {
  return (dialect) =>
    dialect === 'sqlite'
      ? sql`((julianday(${sql.ref(to)}) - julianday(${sql.ref(from)})) * 86400.0)`
      : sql`extract(epoch from (cast(${sql.ref(to)} as timestamptz) - cast(${sql.ref(from)} as timestamptz)))`;
}

/** A text field of a JSON text column. */
function jsonText(column: string, field: string): Dialectal {
  return (dialect) =>
    dialect === 'sqlite' ? sql`json_extract(${sql.ref(column)}, ${`$.${field}`})` : sql`(cast(${sql.ref(column)} as json) ->> ${sql.lit(field)})`;
}

/**
 * One family of figures: rows of `from` counted into the period their `at` falls in and the
 * group `group` names (null: the "" group). `figures` are aggregate expressions; their aliases
 * are read back by `apply`.
 */
interface Tally {
  /** The rows and joins; the join to the operator's user row only when grouping by branch. */
  from: (dialect: SqlDialect, groupBy: ReportGrouping) => RawBuilder<unknown>;
  tenantColumn: string;
  at: string;
  where?: (now: string, dialect: SqlDialect) => RawBuilder<unknown>;
  group: Record<ReportGrouping, Dialectal>;
  figures: (dialect: SqlDialect) => RawBuilder<unknown>;
  apply(figures: ReportFigures, row: Record<string, unknown>): void;
}

const num = (value: unknown): number => Number(value ?? 0);
const mean = (value: unknown): number | null => (value === null || value === undefined ? null : Math.round(Number(value) * 10) / 10);
const ref = (column: string): Dialectal => () => sql`${sql.ref(column)}`;

const TALLIES: Record<string, Tally> = {
  callLegs: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`calls l left join users u on u.id = l.agent_id` : sql`calls l`),
    tenantColumn: 'l.tenant_id',
    at: 'l.started_at',
    where: () => sql`l.direction = 'inbound'`,
    group: { operator: ref('l.agent_id'), branch: ref('u.branch') },
    figures: (dialect) => sql`
      count(l.answered_at) as answered,
      sum(case when l.answered_at is null and l.status = 'ended' then 1 else 0 end) as missed,
      avg(case when l.answered_at is not null and l.ended_at is not null then ${secondsBetween('l.answered_at', 'l.ended_at')(dialect)} end) as handle,
      avg(case when l.answered_at is not null then ${secondsBetween('l.started_at', 'l.answered_at')(dialect)} end) as wait`,
    apply(f, row) {
      f.calls.answered = num(row.answered);
      f.calls.missed = num(row.missed);
      f.calls.avgHandleSeconds = mean(row.handle);
      f.calls.avgWaitSeconds = mean(row.wait);
    },
  },
  abandoned: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`call_queue q left join customers c on c.id = q.customer_id` : sql`call_queue q`),
    tenantColumn: 'q.tenant_id',
    at: 'q.entered_at',
    where: () => sql`q.state = 'abandoned'`,
    group: { operator: () => sql`null`, branch: ref('c.branch') },
    figures: () => sql`count(*) as abandoned`,
    apply(f, row) {
      f.calls.abandoned = num(row.abandoned);
    },
  },
  received: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`mail_messages m left join customers c on c.id = m.customer_id` : sql`mail_messages m`),
    tenantColumn: 'm.tenant_id',
    at: 'm.received_at',
    group: { operator: () => sql`null`, branch: ref('c.branch') },
    figures: () => sql`count(*) as received`,
    apply(f, row) {
      f.mails.received = num(row.received);
    },
  },
  replied: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`mail_replies r left join users u on u.id = r.author_id` : sql`mail_replies r`),
    tenantColumn: 'r.tenant_id',
    at: 'r.sent_at',
    where: () => sql`r.state = 'sent'`,
    group: { operator: ref('r.author_id'), branch: ref('u.branch') },
    figures: () => sql`count(*) as replied`,
    apply(f, row) {
      f.mails.replied = num(row.replied);
    },
  },
  review: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`mail_replies r left join users u on u.id = r.author_id` : sql`mail_replies r`),
    tenantColumn: 'r.tenant_id',
    at: 'r.reviewed_at',
    where: () => sql`r.submitted_at is not null`,
    group: { operator: ref('r.author_id'), branch: ref('u.branch') },
    figures: (dialect) => sql`avg(${secondsBetween('r.submitted_at', 'r.reviewed_at')(dialect)}) as review`,
    apply(f, row) {
      f.mails.avgReviewSeconds = mean(row.review);
    },
  },
  returned: {
    // Every return is an audit event naming the reply's author (mail/replies.ts); the reply row keeps only the last.
    from: (dialect, groupBy) =>
      groupBy === 'branch' ? sql`audit_events a left join users u on u.id = ${jsonText('a.details', 'authorId')(dialect)}` : sql`audit_events a`,
    tenantColumn: 'a.tenant_id',
    at: 'a.at',
    where: () => sql`a.action = 'reply_returned'`,
    group: { operator: jsonText('a.details', 'authorId'), branch: ref('u.branch') },
    figures: () => sql`count(*) as returned`,
    apply(f, row) {
      f.mails.returned = num(row.returned);
    },
  },
  handled: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`call_handling h left join customers c on c.id = h.customer_id` : sql`call_handling h`),
    tenantColumn: 'h.tenant_id',
    at: 'h.handled_at',
    group: { operator: ref('h.handled_by'), branch: ref('c.branch') },
    figures: () => sql`count(*) as handled`,
    apply(f, row) {
      f.branchCalls.handled = num(row.handled);
    },
  },
  unhandled: {
    from: () => sql`calls l inner join customers c on c.id = l.customer_id`,
    tenantColumn: 'l.tenant_id',
    at: 'l.started_at',
    where: () =>
      sql`l.direction = 'inbound' and not exists (select 1 from call_handling h where h.tenant_id = l.tenant_id and h.call_key = coalesce(l.external_id, l.id))`,
    group: { operator: ref('c.assigned_rep_id'), branch: ref('c.branch') },
    figures: () => sql`count(distinct coalesce(l.external_id, l.id)) as unhandled`,
    apply(f, row) {
      f.branchCalls.unhandled = num(row.unhandled);
    },
  },
  callbacksDone: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`callbacks k left join users u on u.id = k.done_by` : sql`callbacks k`),
    tenantColumn: 'k.tenant_id',
    at: 'k.done_at',
    group: { operator: ref('k.done_by'), branch: ref('u.branch') },
    figures: () => sql`count(*) as done`,
    apply(f, row) {
      f.callbacks.done = num(row.done);
    },
  },
  callbacksOverdue: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`callbacks k left join users u on u.id = k.flagged_by` : sql`callbacks k`),
    tenantColumn: 'k.tenant_id',
    at: 'k.due_at',
    where: (now) => sql`k.due_at < ${now} and (k.done_at is null or k.done_at > k.due_at)`,
    group: { operator: ref('k.flagged_by'), branch: ref('u.branch') },
    figures: () => sql`count(*) as overdue`,
    apply(f, row) {
      f.callbacks.overdue = num(row.overdue);
    },
  },
};

export const REPORT_TALLIES: readonly string[] = Object.keys(TALLIES);

/** Buckets above which PostgreSQL places rows by width_bucket rather than a join (measured: 31 days). */
const WIDTH_BUCKET_FROM = 7;

/** One tally's rows: [bucket index, group key or null, figures…]. */
async function runTally(scope: ReportScope, tally: Tally, buckets: ReportBucket[], groupBy: ReportGrouping, groupKeys: string[], now: string) {
  const { dialect } = scope;
  const group = tally.group[groupBy](dialect);
  const values = sql.join(buckets.map((b, i) => sql`(cast(${i} as integer), ${b.start}, ${b.end})`));
  const named = groupKeys.filter((key) => key !== '');
  const groupFilters = [
    ...(named.length > 0 ? [sql`${group} in (${sql.join(named)})`] : []),
    ...(groupKeys.includes('') ? [sql`${group} is null`] : []),
  ];
  if (groupFilters.length === 0) return [];
  const at = sql.ref(tally.at);
  const first = buckets[0]?.start ?? '';
  const last = buckets[buckets.length - 1]?.end ?? '';
  const common = sql`${sql.ref(tally.tenantColumn)} = ${scope.tenantId}
      and ${at} >= ${first} and ${at} < ${last}
      and ${tally.where ? tally.where(now, dialect) : sql`1 = 1`}
      and (${sql.join(groupFilters, sql` or `)})`;
  // Buckets are contiguous (each ends where the next starts), so with many of them PostgreSQL
  // finds a row's bucket by binary search over the starts (width_bucket: 1 for the first) instead
  // of joining every bucket; ISO texts of one format order as their times under the "C" collation.
  // With a few buckets the join's index range scans are faster (bench:reports).
  const query =
    dialect === 'postgres' && buckets.length > WIDTH_BUCKET_FROM
      ? sql<Record<string, unknown>>`
    select width_bucket(${at} collate "C", cast(${buckets.map((b) => b.start)} as text[])) - 1 as bucket, ${group} as grp, ${tally.figures(dialect)}
    from ${tally.from(dialect, groupBy)}
    where ${common}
    group by 1, 2`
      : sql<Record<string, unknown>>`
    with b(idx, start_at, end_at) as (values ${values})
    select b.idx as bucket, ${group} as grp, ${tally.figures(dialect)}
    from b, ${tally.from(dialect, groupBy)}
    where ${common}
      and ${at} >= b.start_at and ${at} < b.end_at
    group by 1, 2`;
  return (await query.execute(scope.db)).rows;
}

/** Tallies a PostgreSQL report runs at once (the machine it was measured on has 2 cores). */
const TALLY_CONNECTIONS = 2;

/** Times (ms) of each tally of the last `reportFigures` call, for the benchmark. */
export type TallyTimes = Record<string, number>;

/** The figures of `groupKeys` in every bucket, as rows where some figure is not zero. */
export async function reportFigures(
  scope: ReportScope,
  buckets: ReportBucket[],
  groupBy: ReportGrouping,
  groupKeys: string[],
  now = new Date(),
  times?: TallyTimes,
): Promise<ReportRow[]> {
  const rows = new Map<string, ReportRow>();
  // PostgreSQL runs the tallies on two pooled connections at once (the figures are independent
  // counts); better-sqlite3 answers one query at a time whatever we do.
  const tallies = Object.entries(TALLIES);
  const results: Record<string, unknown>[][] = new Array(tallies.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < tallies.length; i = next++) {
      const [name, tally] = tallies[i]!;
      const started = performance.now();
      results[i] = await runTally(scope, tally, buckets, groupBy, groupKeys, now.toISOString());
      if (times) times[name] = performance.now() - started;
    }
  };
  await Promise.all(Array.from({ length: scope.dialect === 'postgres' ? TALLY_CONNECTIONS : 1 }, worker));
  for (const [i, [, tally]] of tallies.entries()) {
    for (const row of results[i]!) {
      const bucket = buckets[Number(row.bucket)];
      if (!bucket) continue;
      const group = row.grp === null || row.grp === undefined ? '' : String(row.grp);
      const key = `${bucket.key}\u0000${group}`;
      let entry = rows.get(key);
      if (!entry) {
        entry = { bucket: bucket.key, group, ...emptyFigures() };
        rows.set(key, entry);
      }
      tally.apply(entry, row);
    }
  }
  const order = new Map(groupKeys.map((key, i) => [key, i]));
  return [...rows.values()]
    .filter((row) => REPORT_FIGURE_COLUMNS.some(([, read]) => (read(row) ?? 0) !== 0))
    .sort((a, b) => (a.bucket === b.bucket ? (order.get(a.group) ?? 0) - (order.get(b.group) ?? 0) : a.bucket < b.bucket ? -1 : 1));
}

/** GET /api/reports: one page of groups with their figures in every period. */
export async function reportPage(scope: ReportScope, viewer: User, query: ReportQuery, now = new Date(), times?: TallyTimes): Promise<ReportPage> {
  assertMayView(viewer);
  const buckets = bucketsOf(query, scope.timeZone);
  const offset = query.cursor === undefined ? 0 : decodeCursor(query.cursor);
  const groups = await allGroups(scope, query.groupBy);
  const page = groups.slice(offset, offset + query.limit);
  const rows = await reportFigures(scope, buckets, query.groupBy, page.map((g) => g.key), now, times);
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
export async function reportCsv(scope: ReportScope, viewer: User, query: Omit<ReportQuery, 'cursor' | 'limit'>, now = new Date()): Promise<string> {
  assertMayView(viewer);
  const buckets = bucketsOf(query, scope.timeZone);
  const groups = (await allGroups(scope, query.groupBy)).slice(0, CSV_MAX_GROUPS);
  const names = new Map(groups.map((g) => [g.key, g.name ?? '']));
  const rows = await reportFigures(scope, buckets, query.groupBy, groups.map((g) => g.key), now);
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
