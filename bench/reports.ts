/**
 * `npm run bench:reports`: the report queries (backend/src/reports/queries.ts) on a tenant with
 * a million calls, on SQLite and on PostgreSQL (a throwaway cluster). The history is generated
 * inside the database (one INSERT … SELECT per table over a number series), so building it takes
 * seconds, not minutes: BENCH_REPORT_CALLS call legs (default 1,000,000) over a year, 60
 * operators in 4 branches, 500 customers, and for every 10 calls a mail, for every 20 a reply,
 * for every 4 a handled call for you, for every 20 a callback, for every 30 an abandoned caller.
 *
 * Reports read the daily rollup (backend/src/reports/rollup.ts). Each report (a day, a week, a
 * month, 31 days by day, per operator and per branch, and the CSV of a month) runs once first
 * ("first run": it counts and stores the days the rollup does not hold yet; the cases share
 * June's days), then BENCH_REPORT_RUNS times (default 5); the median and the slowest run are
 * printed with the time of each step of the slowest, and BENCH_REPORT_LIVE_RUNS times (default 2)
 * counted from the base tables only (the reference path, as before the rollup). Last, the rollup
 * of the rest of the year is built (what the first reports after an upgrade would do) and timed.
 * Figures are merged into bench/results.json as `reports-sqlite` / `reports-postgres`, with the
 * 1-minute load average. Target: well under 1 s each.
 * BENCH_REPORT_DIALECTS=sqlite runs one database only. A benchmark prints; it never fails on time.
 */
import os from 'node:os';
import { sql } from 'kysely';
import type { DatabaseHandle, SqlDialect } from '../backend/src/db/database.js';
import { reportCsv, reportPage, type ReportScope, type ReportSource, type TallyTimes } from '../backend/src/reports/queries.js';
import { rebuildReportRollup } from '../backend/src/reports/rollup.js';
import { createCustomerRecord, createDemoTenant, createUser } from '../backend/src/testing/fixtures.js';
import type { User } from '../shared/domain.js';
import type { ReportGrouping, ReportPeriod } from '../shared/reports.js';
import { envInteger, mergeResults } from './cache-file.js';
import { openBenchDatabase } from './support/backend.js';

const TIME_ZONE = 'Asia/Tokyo';
const OPERATORS = 60;
const BRANCHES = ['渋谷支店', '新宿支店', '大阪支店', '名古屋支店'];
const CUSTOMERS = 500;
/** The history runs from here for a year (JST midnight of 1 Dec 2025). */
const HISTORY_START_EPOCH = Date.parse('2025-11-30T15:00:00Z') / 1000;
const YEAR_SECONDS = 365 * 86_400;

interface ReportCase {
  name: string;
  period: ReportPeriod;
  groupBy: ReportGrouping;
  from: string;
  to: string;
  csv?: boolean;
}

const CASES: ReportCase[] = [
  { name: 'day-operator', period: 'day', groupBy: 'operator', from: '2026-06-15', to: '2026-06-15' },
  { name: 'week-operator', period: 'week', groupBy: 'operator', from: '2026-06-15', to: '2026-06-15' },
  { name: 'month-operator', period: 'month', groupBy: 'operator', from: '2026-06-01', to: '2026-06-30' },
  { name: 'month-branch', period: 'month', groupBy: 'branch', from: '2026-06-01', to: '2026-06-30' },
  { name: '31-days-operator', period: 'day', groupBy: 'operator', from: '2026-06-01', to: '2026-07-01' },
  { name: 'month-operator-csv', period: 'month', groupBy: 'operator', from: '2026-06-01', to: '2026-06-30', csv: true },
];

/** A number series 0…count-1 as `n(i)`, and an ISO text instant from epoch seconds. */
function dialectSql(dialect: SqlDialect) {
  return {
    series: (count: number) =>
      dialect === 'sqlite'
        ? sql`(with recursive s(i) as (select 0 union all select i + 1 from s where i + 1 < ${sql.lit(count)}) select i from s) n`
        : sql`generate_series(0, ${sql.lit(count - 1)}) as n(i)`,
    /** i zero-padded, so text ids made from it grow in index order (a bulk load appends to each B-tree). */
    padded: (value: ReturnType<typeof sql>) => (dialect === 'sqlite' ? sql`printf('%08d', ${value})` : sql`lpad(cast(${value} as text), 8, '0')`),
    iso: (epochSeconds: ReturnType<typeof sql>) =>
      dialect === 'sqlite'
        ? sql`strftime('%Y-%m-%dT%H:%M:%fZ', ${epochSeconds}, 'unixepoch')`
        : sql`to_char(to_timestamp(${epochSeconds}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  };
}

async function buildHistory(handle: DatabaseHandle, tenantId: string, callCount: number, password: string, argon2: Parameters<typeof createUser>[3]) {
  const { db, dialect } = handle;
  const operators: User[] = [];
  for (let i = 0; i < OPERATORS; i += 1) {
    operators.push(
      await createUser(
        handle,
        tenantId,
        { login: `op${i}`, displayName: `オペレーター ${String(i).padStart(2, '0')}`, branch: BRANCHES[i % BRANCHES.length] ?? null, customerLimitAuthority: 3, password },
        argon2,
      ),
    );
  }
  const customers: Array<{ id: string; incidentIds: string[]; contactIds: string[] }> = [];
  for (let i = 0; i < CUSTOMERS; i += 1) {
    customers.push(
      await createCustomerRecord(handle, tenantId, {
        code: `B-${String(i).padStart(5, '0')}`,
        name: `顧客 ${i}`,
        branch: BRANCHES[i % BRANCHES.length] ?? null,
        assignedRepId: operators[i % OPERATORS]?.id ?? null,
        classification: 3,
        incidents: [{ title: '問い合わせ', contacts: [{ kind: 'note', direction: 'internal', summary: 'bench' }] }],
      }),
    );
  }
  await sql`create table bench_operators (k integer primary key, id text not null)`.execute(db);
  await sql`create table bench_customers (k integer primary key, id text not null, incident_id text not null, contact_id text not null)`.execute(db);
  for (const [k, user] of operators.entries()) await sql`insert into bench_operators (k, id) values (${k}, ${user.id})`.execute(db);
  for (const [k, c] of customers.entries()) {
    await sql`insert into bench_customers (k, id, incident_id, contact_id) values (${k}, ${c.id}, ${c.incidentIds[0]}, ${c.contactIds[0]})`.execute(db);
  }

  const d = dialectSql(dialect);
  // Calls spread evenly over the year; a pseudo-random wait, talk and outcome from i.
  const startedEpoch = sql`(${sql.lit(HISTORY_START_EPOCH)} + (n.i * ${sql.lit(YEAR_SECONDS / callCount)}))`;
  const answered = sql`(n.i % 7 <> 0)`;
  const answeredEpoch = sql`(${startedEpoch} + 5 + (n.i * 13) % 40)`;
  const endedEpoch = sql`(${answeredEpoch} + 30 + (n.i * 31) % 600)`;
  const started = Date.now();
  await sql`
    insert into calls (id, tenant_id, external_id, status, direction, agent_id, from_number, to_number, started_at, answered_at, ended_at, updated_at, customer_id, reported_events, app_reported, pbx_reported)
    select 'bench-leg-' || ${d.padded(sql`n.i`)}, ${tenantId}, 'bench-call-' || ${d.padded(sql`n.i`)}, 'ended', case when n.i % 10 = 9 then 'outbound' else 'inbound' end,
      o.id, '+81312345678', '100', ${d.iso(startedEpoch)},
      case when ${answered} then ${d.iso(answeredEpoch)} end,
      case when ${answered} then ${d.iso(endedEpoch)} else ${d.iso(sql`(${startedEpoch} + 20)`)} end,
      ${d.iso(startedEpoch)}, case when n.i % 5 = 4 then null else c.id end, '', 1, 1
    from ${d.series(callCount)}
    join bench_operators o on o.k = n.i % ${sql.lit(OPERATORS)}
    join bench_customers c on c.k = n.i % ${sql.lit(CUSTOMERS)}`.execute(db);
  await sql`
    insert into call_handling (tenant_id, call_key, customer_id, kind, contact_id, client_id, handled_by, handled_at)
    select ${tenantId}, 'bench-call-' || ${d.padded(sql`(n.i * 4)`)}, c.id, 'contact', c.contact_id, 'bench-handled-' || n.i, o.id,
      ${d.iso(sql`(${sql.lit(HISTORY_START_EPOCH)} + (n.i * 4 * ${sql.lit(YEAR_SECONDS / callCount)}) + 3600)`)}
    from ${d.series(Math.floor(callCount / 4))}
    join bench_operators o on o.k = (n.i * 3) % ${sql.lit(OPERATORS)}
    join bench_customers c on c.k = (n.i * 4) % ${sql.lit(CUSTOMERS)}`.execute(db);
  await sql`
    insert into call_queue (tenant_id, call_id, caller, customer_id, state, entered_at, polled_at, left_at)
    select ${tenantId}, 'bench-queue-' || n.i, '+81661234567', c.id, 'abandoned',
      ${d.iso(sql`(${sql.lit(HISTORY_START_EPOCH)} + (n.i * 30 * ${sql.lit(YEAR_SECONDS / callCount)}))`)},
      ${d.iso(sql`(${sql.lit(HISTORY_START_EPOCH)} + (n.i * 30 * ${sql.lit(YEAR_SECONDS / callCount)}))`)}, null
    from ${d.series(Math.floor(callCount / 30))}
    join bench_customers c on c.k = n.i % ${sql.lit(CUSTOMERS)}`.execute(db);
  const mailCount = Math.floor(callCount / 10);
  const mailEpoch = sql`(${sql.lit(HISTORY_START_EPOCH)} + (n.i * 10 * ${sql.lit(YEAR_SECONDS / callCount)}))`;
  await sql`
    insert into mail_messages (id, tenant_id, kind, message_id, references_ids, from_address, from_name, to_addresses, cc_addresses, recipient_address, subject,
      received_at, text_body, raw, raw_size, raw_truncated, thread_match, customer_id, incident_id, contact_id, queue_state)
    select 'bench-mail-' || n.i, ${tenantId}, 'email', 'bench-mail-' || n.i || '@example.jp', '[]', 'customer@example.jp', '', '[]', '[]',
      'support@example.test', 'お問い合わせ', ${d.iso(mailEpoch)}, '', ${dialect === 'sqlite' ? sql`x''` : sql`decode('', 'hex')`}, 0, 0, 'sender', c.id, c.incident_id, c.contact_id, 'closed'
    from ${d.series(mailCount)}
    join bench_customers c on c.k = n.i % ${sql.lit(CUSTOMERS)}`.execute(db);
  // Every other mail gets a reply: sent an hour after submission, or (one in five) returned after 20 minutes.
  const submitted = sql`(${mailEpoch} + 1800)`;
  const returned = sql`(n.i % 5 = 0)`;
  await sql`
    insert into mail_replies (id, tenant_id, mail_id, incident_id, customer_id, author_id, state, subject, body, to_address, from_address, references_ids,
      reviewer_id, reviewed_at, edited_by_reviewer, submitted_at, attempts, sent_at, created_at, updated_at)
    select 'bench-reply-' || n.i, ${tenantId}, 'bench-mail-' || (n.i * 2), c.incident_id, c.id, o.id,
      case when ${returned} then 'returned' else 'sent' end, 'Re: お問い合わせ', '…', 'customer@example.jp', 'support@example.test', '[]',
      o.id, ${d.iso(sql`(${submitted} + case when ${returned} then 1200 else 3600 end)`)}, 0, ${d.iso(submitted)}, 1,
      case when ${returned} then null else ${d.iso(sql`(${submitted} + 3600)`)} end, ${d.iso(submitted)}, ${d.iso(submitted)}
    from ${d.series(Math.floor(mailCount / 2))}
    join bench_operators o on o.k = n.i % ${sql.lit(OPERATORS)}
    join bench_customers c on c.k = (n.i * 2) % ${sql.lit(CUSTOMERS)}`.execute(db);
  await sql`
    insert into audit_events (tenant_id, user_id, action, customer_id, details, at)
    select ${tenantId}, o.id, 'reply_returned', c.id, '{"replyId":"bench-reply-' || n.i || '","authorId":"' || o.id || '"}',
      ${d.iso(sql`(${submitted} + 1200)`)}
    from ${d.series(Math.floor(mailCount / 2))}
    join bench_operators o on o.k = n.i % ${sql.lit(OPERATORS)}
    join bench_customers c on c.k = (n.i * 2) % ${sql.lit(CUSTOMERS)}
    where ${returned}`.execute(db);
  const callbackEpoch = sql`(${sql.lit(HISTORY_START_EPOCH)} + (n.i * 20 * ${sql.lit(YEAR_SECONDS / callCount)}))`;
  await sql`
    insert into callbacks (id, tenant_id, customer_id, remote, flagged_by, flagged_at, due_at, done_at, done_by, done_reason)
    select 'bench-callback-' || n.i, ${tenantId}, c.id, '+81312345678', o.id, ${d.iso(callbackEpoch)}, ${d.iso(sql`(${callbackEpoch} + 7200)`)},
      case when n.i % 4 = 0 then null else ${d.iso(sql`(${callbackEpoch} + 3600 * (n.i % 4))`)} end,
      case when n.i % 4 = 0 then null else o.id end, case when n.i % 4 = 0 then null else 'called' end
    from ${d.series(Math.floor(callCount / 20))}
    join bench_operators o on o.k = n.i % ${sql.lit(OPERATORS)}
    join bench_customers c on c.k = n.i % ${sql.lit(CUSTOMERS)}`.execute(db);
  if (dialect === 'sqlite') await sql`analyze`.execute(db);
  else await sql`vacuum analyze`.execute(db);
  return { seconds: (Date.now() - started) / 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

async function benchDialect(dialect: SqlDialect, callCount: number, runs: number, liveRuns: number): Promise<void> {
  console.log(`\n── ${dialect} ──`);
  const database = await openBenchDatabase(dialect);
  try {
    const { handle, config } = database;
    const demo = await createDemoTenant(handle, config.argon2);
    console.log(`Building ${callCount.toLocaleString('en')} calls and the rest of the history…`);
    const built = await buildHistory(handle, demo.tenant.id, callCount, demo.password, config.argon2);
    console.log(`Built in ${built.seconds.toFixed(1)} s`);
    const scope: ReportScope = { db: handle.db, dialect, tenantId: demo.tenant.id, timeZone: TIME_ZONE };
    const viewer = demo.users.supervisor;
    const now = new Date('2026-12-01T00:00:00Z');
    const figures: Record<string, unknown> = {};
    for (const report of CASES) {
      const query = { period: report.period, groupBy: report.groupBy, from: report.from, to: report.to };
      const run = async (source: ReportSource, tallies?: TallyTimes) => {
        const started = performance.now();
        const rows = report.csv
          ? (await reportCsv(scope, viewer, query, now, source)).split('\r\n').length - 2
          : (await reportPage(scope, viewer, { ...query, limit: 100 }, now, tallies, source)).rows.length;
        return { ms: performance.now() - started, rows };
      };
      // The first run counts the days the rollup does not hold yet (the cases share June's days).
      const coldTallies: TallyTimes = {};
      const cold = await run('rollup', coldTallies);
      const times: number[] = [];
      let slowestTallies: TallyTimes = {};
      let rows = cold.rows;
      for (let i = 0; i < runs; i += 1) {
        const tallies: TallyTimes = {};
        const measured = await run('rollup', tallies);
        if (measured.ms >= Math.max(0, ...times)) slowestTallies = tallies;
        times.push(measured.ms);
        rows = measured.rows;
      }
      const liveTimes: number[] = [];
      for (let i = 0; i < liveRuns; i += 1) liveTimes.push((await run('live')).ms);
      const p50 = round(median(times));
      const max = round(Math.max(...times));
      const steps = (t: TallyTimes) => Object.entries(t).map(([name, ms]) => `${name} ${round(ms)}`).join(' · ');
      console.log(`${report.name.padEnd(20)} p50 ${String(p50).padStart(7)} ms  max ${String(max).padStart(7)} ms  (${rows} rows)  first run ${round(cold.ms)} ms${liveTimes.length > 0 ? `  live p50 ${round(median(liveTimes))} ms` : ''}`);
      if (!report.csv) console.log(`${''.padEnd(20)} slowest: ${steps(slowestTallies)}`);
      if (Object.keys(coldTallies).length > 0) console.log(`${''.padEnd(20)} first: ${steps(coldTallies)}`);
      figures[report.name] = { p50_ms: p50, max_ms: max, rows, first_run_ms: round(cold.ms), ...(liveTimes.length > 0 ? { live_p50_ms: round(median(liveTimes)) } : {}) };
    }
    // What the first reports after an upgrade would otherwise do for the whole history.
    const rebuildStarted = performance.now();
    const rebuiltDays = await rebuildReportRollup(scope, '2025-12-01', '2026-11-28', now);
    const rebuildSeconds = (performance.now() - rebuildStarted) / 1000;
    console.log(`Rollup of the rest of the year: ${rebuiltDays} days in ${rebuildSeconds.toFixed(1)} s`);
    const worst = Math.max(...Object.values(figures).map((f) => (f as { max_ms: number }).max_ms));
    mergeResults(`reports-${dialect}`, {
      calls: callCount,
      runs,
      max_ms: worst,
      target: '< 1000 ms per report',
      reports: figures,
      rollup_rebuild: { days: rebuiltDays, seconds: Math.round(rebuildSeconds * 10) / 10 },
      cores: os.cpus().length,
      load_average_1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
      measured_at: new Date().toISOString(),
    });
  } finally {
    await database.dispose();
  }
}

async function main(): Promise<void> {
  const callCount = envInteger('BENCH_REPORT_CALLS', 1_000_000, 1_000, 10_000_000);
  const runs = envInteger('BENCH_REPORT_RUNS', 5, 1, 100);
  const liveRuns = envInteger('BENCH_REPORT_LIVE_RUNS', 2, 0, 100);
  const dialects = (process.env.BENCH_REPORT_DIALECTS ?? 'sqlite,postgres').split(',').filter((d): d is SqlDialect => d === 'sqlite' || d === 'postgres');
  for (const dialect of dialects) await benchDialect(dialect, callCount, runs, liveRuns);
  console.log(`\nLoad average (1 min): ${os.loadavg()[0]?.toFixed(1)}. Wrote bench/results.json`);
}

await main();
