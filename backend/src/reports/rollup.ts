import { sql } from 'kysely';
import { z } from 'zod';
import { localDate, localMidnight, REPORT_GROUPINGS, type ReportBucket, type ReportGrouping, type ReportRow } from '../../../shared/reports.js';
import {
  addPartial,
  dayPartials,
  PARTIAL_COLUMNS,
  partialOf,
  reportRows,
  shiftDate,
  type PartialsByBucket,
  type ReportScope,
  type TallyTimes,
} from './figures.js';
import { ConfigError } from '../config.js';
import { integerVar } from '../config-vars.js';
import type { DatabaseHandle } from '../db/database.js';
import { reportDb, reportTrx, type ReportRollupTable } from './schema.js';

// The daily rollup (migration 028): each local day of the report's time zone counted once per
// operator and per branch and kept in report_rollup; a report adds up its periods from those days.
// A day is used only while the report_changes counters of the UTC days it depends on (itself and
// the day before, for calls ringing over midnight) and the tenant's '*' counter still sum to what
// they were when it was built; otherwise it is counted again from the base tables first. The
// triggers do not mark the last two UTC days (database clock), so days that recent (by the
// report's clock, with one more day of margin) are always counted live and never stored.

/** One local day: its date and UTC interval. */
type Day = ReportBucket;

const DAY_MS = 86_400_000;

function dayOf(date: string, timeZone: string): Day {
  return { key: date, start: localMidnight(date, timeZone).toISOString(), end: localMidnight(shiftDate(date, 1), timeZone).toISOString() };
}

/** The local days of each bucket, in order, with the index of their bucket. */
function daysOf(buckets: ReportBucket[], timeZone: string): Array<Day & { bucket: number; continued: boolean }> {
  const days: Array<Day & { bucket: number; continued: boolean }> = [];
  for (const [bucket, period] of buckets.entries()) {
    const endDate = localDate(period.end, timeZone);
    for (let date = period.key; date < endDate; date = shiftDate(date, 1)) {
      days.push({ ...dayOf(date, timeZone), bucket, continued: date !== period.key });
    }
  }
  return days;
}

/** The UTC days (YYYY-MM-DD) a local day's figures depend on: those of the day before and of itself. */
function utcDaysOf(day: Day, timeZone: string): string[] {
  const from = localMidnight(shiftDate(day.key, -1), timeZone).toISOString().slice(0, 10);
  const to = new Date(Date.parse(day.end) - 1).toISOString().slice(0, 10);
  const dates: string[] = [];
  for (let date = from; date <= to; date = shiftDate(date, 1)) dates.push(date);
  return dates;
}

/** Days whose UTC days all end before this date are kept in the rollup (see the header). */
function firstLiveUtcDate(now: Date): string {
  return new Date(now.getTime() - 2 * DAY_MS).toISOString().slice(0, 10);
}

/** The version each day must have been built at: the sum of the counters it depends on. */
async function currentVersions(scope: ReportScope, days: Day[]): Promise<Map<string, number>> {
  const utc = new Map(days.map((day) => [day.key, utcDaysOf(day, scope.timeZone)]));
  const all = [...utc.values()].flat();
  const rows = await reportDb(scope.db)
    .selectFrom('report_changes')
    .select(['utc_day', 'version'])
    .where('tenant_id', '=', scope.tenantId)
    .where((eb) => eb.or([eb('utc_day', '=', '*'), eb.and([eb('utc_day', '>=', all.reduce((a, b) => (a < b ? a : b))), eb('utc_day', '<=', all.reduce((a, b) => (a > b ? a : b)))])]))
    .execute();
  const counters = new Map(rows.map((row) => [row.utc_day, Number(row.version)]));
  const tenantWide = counters.get('*') ?? 0;
  return new Map([...utc].map(([key, dates]) => [key, tenantWide + dates.reduce((sum, date) => sum + (counters.get(date) ?? 0), 0)]));
}

/** Rows inserted at once (22 values each: under SQLite's and PostgreSQL's parameter limits). */
const INSERT_CHUNK = 500;

/** Counts `days` from the base tables for both groupings and stores them at `versions`. */
async function buildDays(scope: ReportScope, days: Day[], versions: Map<string, number>, now: Date, times?: TallyTimes): Promise<void> {
  const rows: ReportRollupTable[] = [];
  for (const grouping of REPORT_GROUPINGS) {
    const partials = await dayPartials(scope, days, grouping, null, now, times);
    for (const [index, groups] of partials) {
      const day = days[index]!;
      for (const [groupKey, partial] of groups) {
        rows.push({ tenant_id: scope.tenantId, time_zone: scope.timeZone, day: day.key, grouping, group_key: groupKey, ...partial });
      }
    }
  }
  const builtAt = new Date().toISOString();
  await scope.db.transaction().execute(async (trx) => {
    // Important: one builder at a time per tenant, so a day's rows and its version always come from one build.
    if (scope.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`report_rollup:${scope.tenantId}`}))`.execute(trx);
    const rdb = reportTrx(trx);
    const keys = days.map((d) => d.key);
    for (let i = 0; i < keys.length; i += INSERT_CHUNK) {
      const chunk = keys.slice(i, i + INSERT_CHUNK);
      await rdb.deleteFrom('report_rollup').where('tenant_id', '=', scope.tenantId).where('time_zone', '=', scope.timeZone).where('day', 'in', chunk).execute();
      await rdb.deleteFrom('report_rollup_days').where('tenant_id', '=', scope.tenantId).where('time_zone', '=', scope.timeZone).where('day', 'in', chunk).execute();
    }
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) await rdb.insertInto('report_rollup').values(rows.slice(i, i + INSERT_CHUNK)).execute();
    const marks = days.map((day) => ({ tenant_id: scope.tenantId, time_zone: scope.timeZone, day: day.key, source_version: versions.get(day.key) ?? 0, built_at: builtAt }));
    for (let i = 0; i < marks.length; i += INSERT_CHUNK) await rdb.insertInto('report_rollup_days').values(marks.slice(i, i + INSERT_CHUNK)).execute();
  });
}

/** Builds the stale or missing days among `days` (all old enough to be kept); returns how many. */
async function ensureRolledUp(scope: ReportScope, days: Day[], now: Date, times?: TallyTimes): Promise<number> {
  if (days.length === 0) return 0;
  const started = performance.now();
  // Read before counting: a change committed meanwhile leaves the day at an older version, built again next time.
  const versions = await currentVersions(scope, days);
  const built = await reportDb(scope.db)
    .selectFrom('report_rollup_days')
    .select(['day', 'source_version'])
    .where('tenant_id', '=', scope.tenantId)
    .where('time_zone', '=', scope.timeZone)
    .where('day', '>=', days[0]!.key)
    .where('day', '<=', days[days.length - 1]!.key)
    .execute();
  const builtAt = new Map(built.map((row) => [row.day, Number(row.source_version)]));
  const stale = days.filter((day) => builtAt.get(day.key) !== versions.get(day.key));
  if (times) times.rollupCheck = performance.now() - started;
  if (stale.length > 0) {
    const building = performance.now();
    await buildDays(scope, stale, versions, now, times);
    if (times) times.rollupBuild = performance.now() - building;
  }
  return stale.length;
}

/**
 * The report's figures from the rollup for the days old enough to be kept (building those that
 * are missing or stale) and from the base tables for the last days. Same rows as
 * liveReportFigures (reports.test.ts holds them side by side).
 */
export async function rolledUpFigures(
  scope: ReportScope,
  buckets: ReportBucket[],
  groupBy: ReportGrouping,
  groupKeys: string[],
  now = new Date(),
  times?: TallyTimes,
): Promise<ReportRow[]> {
  const days = daysOf(buckets, scope.timeZone);
  const firstLive = firstLiveUtcDate(now);
  const kept = days.filter((day) => new Date(Date.parse(day.end) - 1).toISOString().slice(0, 10) < firstLive);
  const live = days.slice(kept.length);
  const partials: PartialsByBucket = new Map();
  await ensureRolledUp(scope, kept, now, times);
  const keys = [...new Set(groupKeys)];
  if (kept.length > 0 && keys.length > 0) {
    const started = performance.now();
    const bucketOfDay = new Map(kept.map((day) => [day.key, day]));
    const rows = await reportDb(scope.db)
      .selectFrom('report_rollup')
      .select(['day', 'group_key', ...PARTIAL_COLUMNS])
      .where('tenant_id', '=', scope.tenantId)
      .where('time_zone', '=', scope.timeZone)
      .where('grouping', '=', groupBy)
      .where('day', '>=', kept[0]!.key)
      .where('day', '<=', kept[kept.length - 1]!.key)
      .where('group_key', 'in', keys)
      .execute();
    for (const row of rows) {
      const day = bucketOfDay.get(row.day);
      if (day) addPartial(partialOf(partials, day.bucket, row.group_key), row, day.continued);
    }
    if (times) times.rollupRead = performance.now() - started;
  }
  if (live.length > 0) {
    const started = performance.now();
    const counted = await dayPartials(scope, live, groupBy, groupKeys, now);
    for (const [index, groups] of counted) {
      const day = live[index]!;
      for (const [group, partial] of groups) addPartial(partialOf(partials, day.bucket, group), partial, day.continued);
    }
    if (times) times.liveDays = performance.now() - started;
  }
  return reportRows(buckets, partials, groupKeys);
}

/**
 * Builds (or checks) the rollup of every kept day from `from` to `to` (local dates): what the first
 * report of those days would otherwise do. Returns the number of days counted again.
 */
export async function rebuildReportRollup(scope: ReportScope, from: string, to: string, now = new Date()): Promise<number> {
  const firstLive = firstLiveUtcDate(now);
  let rebuilt = 0;
  // A month at a time: each build is one transaction of bounded size.
  for (let start = from; start <= to; start = shiftDate(start, 31)) {
    const end = shiftDate(start, 30) < to ? shiftDate(start, 30) : to;
    const days: Day[] = [];
    for (let date = start; date <= end; date = shiftDate(date, 1)) {
      const day = dayOf(date, scope.timeZone);
      if (new Date(Date.parse(day.end) - 1).toISOString().slice(0, 10) < firstLive) days.push(day);
    }
    rebuilt += await ensureRolledUp(scope, days, now);
  }
  return rebuilt;
}

// ── Keeping the rollup warm ──

const WarmerEnv = z.object({
  /** Local days back from today the backend keeps rolled up (0: only what reports build themselves). */
  TSUNAGU_REPORT_ROLLUP_DAYS: integerVar(0, 3_000, 400),
});

export function loadReportRollupDays(env: NodeJS.ProcessEnv = process.env): number {
  const parsed = WarmerEnv.safeParse(env);
  if (!parsed.success) throw new ConfigError(`Invalid report settings: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return parsed.data.TSUNAGU_REPORT_ROLLUP_DAYS;
}

interface WarmerLog {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

/**
 * Builds the rollup of the last `days` local days of every tenant, newest first, one day per
 * step with a turn of the event loop between (a day is a few thousand rows even at a million
 * calls a year, so better-sqlite3 never holds the loop long): after an upgrade the history is
 * rolled up in the background instead of by the first reports. Then once an hour, for the day
 * that just became old enough and any day a late change made stale.
 */
export class ReportRollupWarmer {
  readonly #handle: DatabaseHandle;
  /** The deployment's zone, for tenants without one of their own. */
  readonly #timeZone: string;
  readonly #days: number;
  readonly #log: WarmerLog;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(handle: DatabaseHandle, timeZone: string, days: number, log: WarmerLog) {
    this.#handle = handle;
    this.#timeZone = timeZone;
    this.#days = days;
    this.#log = log;
  }

  start(): void {
    if (this.#days === 0) return;
    this.#timer = setInterval(() => void this.runOnce(), 3_600_000);
    this.#timer.unref();
    void this.runOnce();
  }

  /** One pass over every tenant (joins the pass under way, if any). */
  runOnce(now = new Date()): Promise<void> {
    this.#running ??= this.#pass(now).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pass(now: Date): Promise<void> {
    const tenants = await this.#handle.db.selectFrom('tenants').select(['id', 'time_zone']).execute();
    for (const { id, time_zone } of tenants) {
      // The zone the tenant's reports count days in (its own, else the deployment's), as reports/routes.ts does.
      const timeZone = time_zone ?? this.#timeZone;
      const today = localDate(now, timeZone);
      const scope: ReportScope = { db: this.#handle.db, dialect: this.#handle.dialect, tenantId: id, timeZone };
      let built = 0;
      try {
        for (let back = 1; back <= this.#days && !this.#closed; back += 1) {
          built += await rebuildReportRollup(scope, shiftDate(today, -back), shiftDate(today, -back), now);
          await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (error) {
        if (!this.#closed) this.#log.error({ err: error, tenantId: id }, 'report rollup failed');
      }
      if (built > 0) this.#log.info({ tenantId: id, days: built }, 'report rollup built');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
