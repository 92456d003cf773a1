import { sql, type Kysely, type RawBuilder } from 'kysely';
import { localDate, localMidnight, REPORT_FIGURE_COLUMNS, type ReportBucket, type ReportFigures, type ReportGrouping, type ReportRow } from '../../../shared/reports.js';
import type { SqlDialect } from '../db/database.js';
import type { Database } from '../db/schema.js';

// The figures of a report counted from the base tables ("live"). Every tally yields additive
// partial figures (counts, and sums of milliseconds with their counts for the means), so the
// figures of a period are the same whether counted over the period at once or added up from
// its days (rollup.ts): the live count over the period stays the reference.

export interface ReportScope {
  db: Kysely<Database>;
  dialect: SqlDialect;
  tenantId: string;
  timeZone: string;
}

/** Times (ms) of each step of the last report, for the benchmark. */
export type TallyTimes = Record<string, number>;

export const PARTIAL_COLUMNS = [
  'answered',
  'missed',
  'abandoned',
  'handle_ms',
  'handle_n',
  'wait_ms',
  'wait_n',
  'received',
  'replied',
  'review_ms',
  'review_n',
  'returned',
  'handled',
  'unhandled',
  'unhandled_carried',
  'done',
  'overdue',
] as const;
export type PartialColumn = (typeof PARTIAL_COLUMNS)[number];
/** Additive figures of one group in one period or day. */
export type PartialFigures = Record<PartialColumn, number>;

export function emptyPartial(): PartialFigures {
  return Object.fromEntries(PARTIAL_COLUMNS.map((c) => [c, 0])) as PartialFigures;
}

const num = (value: unknown): number => Number(value ?? 0);

/**
 * Adds a day's (or a period's) figures into a period's. A call ringing over midnight is in the
 * "unhandled" of both days; `continued` (not the period's first day) takes it out once.
 */
export function addPartial(into: PartialFigures, from: Partial<Record<PartialColumn, unknown>>, continued = false): void {
  for (const column of PARTIAL_COLUMNS) {
    if (column === 'unhandled_carried') continue;
    into[column] += num(from[column]);
  }
  if (continued) into.unhandled -= num(from.unhandled_carried);
}

/** Mean seconds to 0.1 s from a sum of milliseconds; null without any. */
const meanSeconds = (ms: number, n: number): number | null => (n === 0 ? null : Math.round(ms / n / 100) / 10);

export function figuresOf(p: PartialFigures): ReportFigures {
  return {
    calls: { answered: p.answered, missed: p.missed, abandoned: p.abandoned, avgHandleSeconds: meanSeconds(p.handle_ms, p.handle_n), avgWaitSeconds: meanSeconds(p.wait_ms, p.wait_n) },
    mails: { received: p.received, replied: p.replied, avgReviewSeconds: meanSeconds(p.review_ms, p.review_n), returned: p.returned },
    branchCalls: { handled: p.handled, unhandled: p.unhandled },
    callbacks: { done: p.done, overdue: p.overdue },
  };
}

/** Per bucket (index), per group key ("" for none): the partial figures. */
export type PartialsByBucket = Map<number, Map<string, PartialFigures>>;

export function partialOf(partials: PartialsByBucket, bucket: number, group: string): PartialFigures {
  let groups = partials.get(bucket);
  if (!groups) {
    groups = new Map();
    partials.set(bucket, groups);
  }
  let partial = groups.get(group);
  if (!partial) {
    partial = emptyPartial();
    groups.set(group, partial);
  }
  return partial;
}

/** Report rows of `groupKeys` in every bucket where some figure is not zero, by bucket then group order. */
export function reportRows(buckets: ReportBucket[], partials: PartialsByBucket, groupKeys: string[]): ReportRow[] {
  const order = new Map(groupKeys.map((key, i) => [key, i]));
  const rows: ReportRow[] = [];
  for (const [index, bucket] of buckets.entries()) {
    for (const [group, partial] of partials.get(index) ?? []) {
      if (!order.has(group)) continue;
      const row: ReportRow = { bucket: bucket.key, group, ...figuresOf(partial) };
      if (REPORT_FIGURE_COLUMNS.some(([, read]) => (read(row) ?? 0) !== 0)) rows.push(row);
    }
  }
  return rows.sort((a, b) => (a.bucket === b.bucket ? (order.get(a.group) ?? 0) - (order.get(b.group) ?? 0) : a.bucket < b.bucket ? -1 : 1));
}

// ── The tallies ──

type Dialectal = (dialect: SqlDialect) => RawBuilder<unknown>;

/**
 * Whole milliseconds from one ISO text column to another: integers add up exactly in any order,
 * so a period's sum is the same counted at once or day by day.
 */
function msBetween(from: string, to: string): Dialectal {
  return (dialect) =>
    dialect === 'sqlite'
      ? sql`round((julianday(${sql.ref(to)}) - julianday(${sql.ref(from)})) * 86400000.0)`
      : sql`round(extract(epoch from (cast(${sql.ref(to)} as timestamptz) - cast(${sql.ref(from)} as timestamptz))) * 1000)`;
}

/** A text field of a JSON text column. */
function jsonText(column: string, field: string): Dialectal {
  return (dialect) =>
    dialect === 'sqlite' ? sql`json_extract(${sql.ref(column)}, ${`$.${field}`})` : sql`(cast(${sql.ref(column)} as json) ->> ${sql.lit(field)})`;
}

/**
 * One family of figures: rows of `from` counted into the period their `at` falls in and the
 * group `group` names (null: the "" group). `figures` are aggregate expressions aliased as
 * partial columns.
 */
interface Tally {
  /** The rows and joins; the join to the operator's user row only when grouping by branch. */
  from: (dialect: SqlDialect, groupBy: ReportGrouping) => RawBuilder<unknown>;
  tenantColumn: string;
  at: string;
  where?: (now: string, dialect: SqlDialect) => RawBuilder<unknown>;
  group: Record<ReportGrouping, Dialectal>;
  figures: (dialect: SqlDialect) => RawBuilder<unknown>;
}

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
      sum(case when l.answered_at is not null and l.ended_at is not null then ${msBetween('l.answered_at', 'l.ended_at')(dialect)} end) as handle_ms,
      sum(case when l.answered_at is not null and l.ended_at is not null then 1 else 0 end) as handle_n,
      sum(case when l.answered_at is not null then ${msBetween('l.started_at', 'l.answered_at')(dialect)} end) as wait_ms,
      count(l.answered_at) as wait_n`,
  },
  abandoned: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`call_queue q left join customers c on c.id = q.customer_id` : sql`call_queue q`),
    tenantColumn: 'q.tenant_id',
    at: 'q.entered_at',
    where: () => sql`q.state = 'abandoned'`,
    group: { operator: () => sql`null`, branch: ref('c.branch') },
    figures: () => sql`count(*) as abandoned`,
  },
  received: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`mail_messages m left join customers c on c.id = m.customer_id` : sql`mail_messages m`),
    tenantColumn: 'm.tenant_id',
    at: 'm.received_at',
    group: { operator: () => sql`null`, branch: ref('c.branch') },
    figures: () => sql`count(*) as received`,
  },
  replied: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`mail_replies r left join users u on u.id = r.author_id` : sql`mail_replies r`),
    tenantColumn: 'r.tenant_id',
    at: 'r.sent_at',
    where: () => sql`r.state = 'sent'`,
    group: { operator: ref('r.author_id'), branch: ref('u.branch') },
    figures: () => sql`count(*) as replied`,
  },
  review: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`mail_replies r left join users u on u.id = r.author_id` : sql`mail_replies r`),
    tenantColumn: 'r.tenant_id',
    at: 'r.reviewed_at',
    where: () => sql`r.submitted_at is not null`,
    group: { operator: ref('r.author_id'), branch: ref('u.branch') },
    figures: (dialect) => sql`sum(${msBetween('r.submitted_at', 'r.reviewed_at')(dialect)}) as review_ms, count(*) as review_n`,
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
  },
  handled: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`call_handling h left join customers c on c.id = h.customer_id` : sql`call_handling h`),
    tenantColumn: 'h.tenant_id',
    at: 'h.handled_at',
    group: { operator: ref('h.handled_by'), branch: ref('c.branch') },
    figures: () => sql`count(*) as handled`,
  },
  unhandled: {
    from: () => sql`calls l inner join customers c on c.id = l.customer_id`,
    tenantColumn: 'l.tenant_id',
    at: 'l.started_at',
    where: () =>
      sql`l.direction = 'inbound' and not exists (select 1 from call_handling h where h.tenant_id = l.tenant_id and h.call_key = coalesce(l.external_id, l.id))`,
    group: { operator: ref('c.assigned_rep_id'), branch: ref('c.branch') },
    figures: () => sql`count(distinct coalesce(l.external_id, l.id)) as unhandled`,
  },
  callbacksDone: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`callbacks k left join users u on u.id = k.done_by` : sql`callbacks k`),
    tenantColumn: 'k.tenant_id',
    at: 'k.done_at',
    group: { operator: ref('k.done_by'), branch: ref('u.branch') },
    figures: () => sql`count(*) as done`,
  },
  callbacksOverdue: {
    from: (_dialect, groupBy) => (groupBy === 'branch' ? sql`callbacks k left join users u on u.id = k.flagged_by` : sql`callbacks k`),
    tenantColumn: 'k.tenant_id',
    at: 'k.due_at',
    where: (now) => sql`k.due_at < ${now} and (k.done_at is null or k.done_at > k.due_at)`,
    group: { operator: ref('k.flagged_by'), branch: ref('u.branch') },
    figures: () => sql`count(*) as overdue`,
  },
};


/** Buckets above which PostgreSQL places rows by width_bucket rather than a join (measured: 31 days). */
const WIDTH_BUCKET_FROM = 7;

/** Group keys to count: the page's, or null for every group (building the rollup). */
type GroupKeys = string[] | null;

/** `(group in keys or group is null)`, or nothing to filter; null when no group can match. */
function groupFilter(group: RawBuilder<unknown>, groupKeys: GroupKeys): RawBuilder<unknown> | null {
  if (groupKeys === null) return sql`1 = 1`;
  const named = groupKeys.filter((key) => key !== '');
  const filters = [...(named.length > 0 ? [sql`${group} in (${sql.join(named)})`] : []), ...(groupKeys.includes('') ? [sql`${group} is null`] : [])];
  return filters.length === 0 ? null : sql`(${sql.join(filters, sql` or `)})`;
}

/** One tally's rows: [bucket index, group key or null, partial columns…]. */
async function runTally(scope: ReportScope, tally: Tally, buckets: ReportBucket[], groupBy: ReportGrouping, groupKeys: GroupKeys, now: string) {
  const { dialect } = scope;
  const group = tally.group[groupBy](dialect);
  const groups = groupFilter(group, groupKeys);
  if (groups === null || buckets.length === 0) return [];
  const at = sql.ref(tally.at);
  const first = buckets[0]?.start ?? '';
  const last = buckets[buckets.length - 1]?.end ?? '';
  const common = sql`${sql.ref(tally.tenantColumn)} = ${scope.tenantId}
      and ${at} >= ${first} and ${at} < ${last}
      and ${tally.where ? tally.where(now, dialect) : sql`1 = 1`}
      and ${groups}`;
  // Buckets here are contiguous (each ends where the next starts), so with many of them PostgreSQL
  // finds a row's bucket by binary search over the starts (width_bucket: 1 for the first) instead
  // of joining every bucket; ISO texts of one format order as their times under the "C" collation.
  // With a few buckets the join's index range scans are faster (bench:reports).
  const contiguous = buckets.every((b, i) => i === 0 || buckets[i - 1]?.end === b.start);
  const values = sql.join(buckets.map((b, i) => sql`(cast(${i} as integer), ${b.start}, ${b.end})`));
  const query =
    dialect === 'postgres' && contiguous && buckets.length > WIDTH_BUCKET_FROM
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

/**
 * Every tally of `groupKeys` (null: all groups) in every bucket. Buckets must not overlap; a
 * row outside all of them (between non-contiguous buckets) is not counted.
 */
export async function tallyPartials(
  scope: ReportScope,
  buckets: ReportBucket[],
  groupBy: ReportGrouping,
  groupKeys: GroupKeys,
  now: Date,
  times?: TallyTimes,
): Promise<PartialsByBucket> {
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
      if (times) times[name] = (times[name] ?? 0) + performance.now() - started;
    }
  };
  await Promise.all(Array.from({ length: scope.dialect === 'postgres' ? TALLY_CONNECTIONS : 1 }, worker));
  const partials: PartialsByBucket = new Map();
  for (const rows of results) {
    for (const row of rows) {
      const bucket = Number(row.bucket);
      if (!buckets[bucket]) continue;
      addPartial(partialOf(partials, bucket, row.grp === null || row.grp === undefined ? '' : String(row.grp)), row);
    }
  }
  return partials;
}

/** The YYYY-MM-DD after (or before) a date. */
export function shiftDate(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/**
 * The figures of each local day (buckets one day long, keyed by their date, in order), with
 * `unhandled_carried`: of a day's unhandled calls, those also counted the day before (same call,
 * same group). Adding up consecutive days then counts each call once, provided the legs of one
 * call all start within a day of each other (a call's legs then cover consecutive days).
 */
export async function dayPartials(
  scope: ReportScope,
  days: ReportBucket[],
  groupBy: ReportGrouping,
  groupKeys: GroupKeys,
  now: Date,
  times?: TallyTimes,
): Promise<PartialsByBucket> {
  const partials = await tallyPartials(scope, days, groupBy, groupKeys, now, times);
  const first = days[0];
  const last = days[days.length - 1];
  if (!first || !last) return partials;
  const started = performance.now();
  const tally = TALLIES.unhandled!;
  const group = tally.group[groupBy](scope.dialect);
  const groups = groupFilter(group, groupKeys);
  if (groups === null) return partials;
  const dayIndex = new Map(days.map((d, i) => [d.key, i]));
  // Calls with more than one unhandled leg from the day before the first to the last: the days
  // between their first and last leg each continue the call.
  const dayBefore = localMidnight(shiftDate(first.key, -1), scope.timeZone).toISOString();
  const spanning = await sql<{ grp: unknown; first_at: string; last_at: string }>`
    select ${group} as grp, min(l.started_at) as first_at, max(l.started_at) as last_at
    from ${tally.from(scope.dialect, groupBy)}
    where l.tenant_id = ${scope.tenantId} and l.started_at >= ${dayBefore} and l.started_at < ${last.end}
      and ${tally.where!(now.toISOString(), scope.dialect)} and ${groups}
    group by coalesce(l.external_id, l.id), 1
    having count(*) > 1`.execute(scope.db);
  for (const row of spanning.rows) {
    const lastDay = localDate(row.last_at, scope.timeZone);
    for (let day = shiftDate(localDate(row.first_at, scope.timeZone), 1); day <= lastDay; day = shiftDate(day, 1)) {
      const index = dayIndex.get(day);
      if (index !== undefined) partialOf(partials, index, row.grp === null || row.grp === undefined ? '' : String(row.grp)).unhandled_carried += 1;
    }
  }
  if (times) times.unhandledCarried = (times.unhandledCarried ?? 0) + performance.now() - started;
  return partials;
}

/** The reference: the figures of `groupKeys` counted over each bucket from the base tables. */
export async function liveReportFigures(
  scope: ReportScope,
  buckets: ReportBucket[],
  groupBy: ReportGrouping,
  groupKeys: string[],
  now = new Date(),
  times?: TallyTimes,
): Promise<ReportRow[]> {
  return reportRows(buckets, await tallyPartials(scope, buckets, groupBy, groupKeys, now, times), groupKeys);
}
