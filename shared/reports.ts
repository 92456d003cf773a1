import { z } from 'zod';

// ── Reports (backend/src/reports) ──
//
// Figures of a tenant by day, week or month, per operator or per branch. Periods are calendar
// periods in the deployment's time zone (TSUNAGU_TIME_ZONE, Asia/Tokyo by default): a day runs
// from local midnight to local midnight, a week from Monday, a month from the 1st. The backend
// turns each period into a half-open UTC interval [start, end) and counts every event by the
// instant it happened (the `*_at` column named in REPORT_FIGURES).

export const REPORTS_API = {
  /** Admins and supervisors: one page of groups (operators or branches) with their figures. */
  page: '/api/reports',
  /** The same report for every group as CSV (UTF-8 with a BOM). */
  exportCsv: '/api/reports/export.csv',
} as const;

export const REPORT_PERIODS = ['day', 'week', 'month'] as const;
export type ReportPeriod = (typeof REPORT_PERIODS)[number];
export const REPORT_GROUPINGS = ['operator', 'branch'] as const;
export type ReportGrouping = (typeof REPORT_GROUPINGS)[number];

/** A report covers at most this many periods (days, weeks or months). */
export const REPORT_MAX_BUCKETS = 93;
export const REPORT_PAGE_MAX = 100;

const LocalDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date as YYYY-MM-DD' })
  .refine((text) => {
    const [y, m, d] = text.split('-').map(Number) as [number, number, number];
    const date = new Date(Date.UTC(y, m - 1, d));
    return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
  }, { error: 'no such date' });

/** `from` and `to` are local calendar dates, both included; each is widened to its period. */
export const ReportQuery = z
  .object({
    period: z.enum(REPORT_PERIODS).default('day'),
    groupBy: z.enum(REPORT_GROUPINGS).default('operator'),
    from: LocalDate,
    to: LocalDate,
    /** `nextCursor` of the previous page; omitted: the first groups. */
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(REPORT_PAGE_MAX).default(20),
  })
  .strict();
export type ReportQuery = z.infer<typeof ReportQuery>;
export type ReportQueryInput = z.input<typeof ReportQuery>;

export const ReportBucket = z.object({
  /** The local date the period starts on (YYYY-MM-DD). */
  key: z.string(),
  /** UTC instants, [start, end). */
  start: z.string(),
  end: z.string(),
});
export type ReportBucket = z.infer<typeof ReportBucket>;

/** An operator (key: user id) or a branch (key: its name). Key "": nobody / no branch. */
export const ReportGroup = z.object({ key: z.string(), name: z.string().nullable() });
export type ReportGroup = z.infer<typeof ReportGroup>;

const Count = z.number().int().min(0);
const Seconds = z.number().nullable();

export const ReportFigures = z.object({
  calls: z.object({
    /** Inbound legs (one per operator a call rang) answered, by the time the leg started ringing. */
    answered: Count,
    /** Inbound legs that ended unanswered. */
    missed: Count,
    /** Callers who hung up waiting in the queue (by when they entered it); nobody's: operator "". */
    abandoned: Count,
    /** Mean answered → ended of the answered legs; null without any. */
    avgHandleSeconds: Seconds,
    /** Mean ringing → answered of the answered legs (the caller's wait for this operator). */
    avgWaitSeconds: Seconds,
  }),
  mails: z.object({
    /** Mails and faxes received; nobody's work: operator "", branch of the customer. */
    received: Count,
    /** Replies sent, by their author and when they were sent. */
    replied: Count,
    /** Mean submitted → reviewed of the replies reviewed in the period (author's). */
    avgReviewSeconds: Seconds,
    /** Returns by a reviewer (each return counts, by when it happened), the author's. */
    returned: Count,
  }),
  branchCalls: z.object({
    /** Calls for you marked handled, by who handled them and when (branch: the customer's). */
    handled: Count,
    /** Inbound calls of a customer nobody handled yet, by when they rang (operator: the customer's rep). */
    unhandled: Count,
  }),
  callbacks: z.object({
    /** Callbacks done, by who did them and when. */
    done: Count,
    /** Callbacks due in the period and not done by then, the flagging operator's. */
    overdue: Count,
  }),
});
export type ReportFigures = z.infer<typeof ReportFigures>;

export const ReportRow = ReportFigures.extend({ bucket: z.string(), group: z.string() });
export type ReportRow = z.infer<typeof ReportRow>;

export const ReportPage = z.object({
  timeZone: z.string(),
  period: z.enum(REPORT_PERIODS),
  groupBy: z.enum(REPORT_GROUPINGS),
  buckets: z.array(ReportBucket),
  /** The groups of this page, in order; rows exist only where some figure is not zero. */
  groups: z.array(ReportGroup),
  rows: z.array(ReportRow),
  nextCursor: z.string().nullable(),
});
export type ReportPage = z.infer<typeof ReportPage>;

export function emptyFigures(): ReportFigures {
  return {
    calls: { answered: 0, missed: 0, abandoned: 0, avgHandleSeconds: null, avgWaitSeconds: null },
    mails: { received: 0, replied: 0, avgReviewSeconds: null, returned: 0 },
    branchCalls: { handled: 0, unhandled: 0 },
    callbacks: { done: 0, overdue: 0 },
  };
}

/** The CSV's columns after bucket and group, and how each is read from the figures. */
export const REPORT_FIGURE_COLUMNS: ReadonlyArray<readonly [string, (f: ReportFigures) => number | null]> = [
  ['calls_answered', (f) => f.calls.answered],
  ['calls_missed', (f) => f.calls.missed],
  ['calls_abandoned', (f) => f.calls.abandoned],
  ['calls_avg_handle_seconds', (f) => f.calls.avgHandleSeconds],
  ['calls_avg_wait_seconds', (f) => f.calls.avgWaitSeconds],
  ['mails_received', (f) => f.mails.received],
  ['mails_replied', (f) => f.mails.replied],
  ['mails_avg_review_seconds', (f) => f.mails.avgReviewSeconds],
  ['mails_returned', (f) => f.mails.returned],
  ['branch_calls_handled', (f) => f.branchCalls.handled],
  ['branch_calls_unhandled', (f) => f.branchCalls.unhandled],
  ['callbacks_done', (f) => f.callbacks.done],
  ['callbacks_overdue', (f) => f.callbacks.overdue],
];

// ── Calendar periods in a time zone ──

const formatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** The zone's offset from UTC at `instant`, in milliseconds (Asia/Tokyo: +9 h). */
function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = Object.fromEntries(zoneFormatter(timeZone).formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour) % 24, Number(parts.minute), Number(parts.second));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The UTC instant of local midnight starting `date` (YYYY-MM-DD) in the zone. */
export function localMidnight(date: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const naive = Date.UTC(y, m - 1, d);
  // Twice: the first guess may sit on the other side of a DST change.
  const first = naive - zoneOffsetMs(naive, timeZone);
  return new Date(naive - zoneOffsetMs(first, timeZone));
}

/** The local calendar date (YYYY-MM-DD) of an instant in the zone. */
export function localDate(instant: Date | string, timeZone: string): string {
  const parts = Object.fromEntries(zoneFormatter(timeZone).formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

function dateText(utcDay: Date): string {
  return utcDay.toISOString().slice(0, 10);
}

function periodStart(date: string, period: ReportPeriod): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  if (period === 'month') return new Date(Date.UTC(y, m - 1, 1));
  // ISO weeks start on Monday.
  if (period === 'week') return new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * 86_400_000);
  return day;
}

function nextPeriod(start: Date, period: ReportPeriod): Date {
  if (period === 'month') return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  return new Date(start.getTime() + (period === 'week' ? 7 : 1) * 86_400_000);
}

/**
 * The periods from the one holding `from` to the one holding `to`, each as its local start date
 * and its UTC interval. Throws (naming the field) when `to` is before `from` or there are too many.
 */
export function reportBuckets(from: string, to: string, period: ReportPeriod, timeZone: string): ReportBucket[] {
  if (to < from) throw new RangeError('query.to: must not be before query.from');
  const buckets: ReportBucket[] = [];
  let start = periodStart(from, period);
  while (dateText(start) <= to) {
    if (buckets.length === REPORT_MAX_BUCKETS) throw new RangeError(`query.to: a report covers at most ${REPORT_MAX_BUCKETS} ${period}s`);
    const end = nextPeriod(start, period);
    buckets.push({ key: dateText(start), start: localMidnight(dateText(start), timeZone).toISOString(), end: localMidnight(dateText(end), timeZone).toISOString() });
    start = end;
  }
  return buckets;
}
