import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// Report rollup (backend/src/reports/rollup.ts): the figures of each local day of a tenant per
// operator and per branch, built from the base tables the first time a report needs that day and
// read back afterwards. Table types: backend/src/reports/schema.ts.
//
// Exactness comes from the database, not from the code paths that write: triggers on every table
// a report counts bump a per-tenant counter of the UTC day (YYYY-MM-DD) of each time a changed row
// is counted by, old and new, and a rolled-up day remembers the sum of the counters it was built
// at. A change of what a group is (a user's branch, a customer's branch or rep, a customer
// deleted) bumps the tenant-wide counter '*'. Only days before yesterday (UTC, database clock) are
// marked, so the writes of the running day never contend on a counter row; reports compute the
// last days live instead (with a day of margin for clocks, see rollup.ts).
// Nothing is built here: a report builds the days it needs, and `rebuildReportRollup` fills a range.
// Important: append-only like every migration; change the schema in a new numbered file.

interface MarkedTable {
  table: string;
  /** Columns whose change can move a figure. */
  columns: string[];
  /** Time columns whose UTC day is marked. */
  days: string[];
  /** Only rows matching this (a condition on the row, written with `r.`) are counted. */
  rowsWhere?: string;
  /**
   * The same condition on a trigger's row (`new`/`old`): a table written often (every view of a
   * customer is audited) then fires row triggers only for the rows that count, and on
   * PostgreSQL no function runs for the others.
   */
  rowWhen?: (row: string) => string;
}

const MARKED: MarkedTable[] = [
  { table: 'calls', columns: ['started_at', 'direction', 'status', 'agent_id', 'answered_at', 'ended_at', 'customer_id', 'external_id'], days: ['started_at'] },
  { table: 'call_queue', columns: ['entered_at', 'state', 'customer_id'], days: ['entered_at'] },
  { table: 'mail_messages', columns: ['received_at', 'customer_id'], days: ['received_at'] },
  { table: 'mail_replies', columns: ['state', 'author_id', 'sent_at', 'reviewed_at', 'submitted_at'], days: ['sent_at', 'reviewed_at'] },
  {
    table: 'audit_events',
    columns: ['action', 'details', 'at'],
    days: ['at'],
    rowsWhere: `r.action = 'reply_returned'`,
    rowWhen: (row) => `${row}.action = 'reply_returned'`,
  },
  { table: 'call_handling', columns: ['handled_at', 'handled_by', 'customer_id', 'call_key'], days: ['handled_at'] },
  { table: 'callbacks', columns: ['done_at', 'done_by', 'due_at', 'flagged_by'], days: ['done_at', 'due_at'] },
];

/** The UTC days of a table's rows (`r`), as (tenant_id, d) rows, for a union. */
function daySelects(marked: MarkedTable, rows: string): string[] {
  return marked.days.map((column) => `select r.tenant_id, substr(r.${column}, 1, 10) as d from ${rows} r${marked.rowsWhere ? ` where ${marked.rowsWhere}` : ''}`);
}

/** A row trigger's row (`new` or `old`) as a one-row table of the columns that count. */
function rowOf(marked: MarkedTable, row: string): string {
  return `(select ${[...new Set(['tenant_id', ...marked.columns])].map((c) => `${row}.${c} as ${c}`).join(', ')})`;
}

/**
 * A handled mark changes the "unhandled" figure of every leg of that call, counted by when the
 * leg rang: those legs' days too. `h` is the call_handling row(s).
 */
function handledLegDays(rows: string): string {
  return `select l.tenant_id, substr(l.started_at, 1, 10) as d from ${rows} h join calls l on l.tenant_id = h.tenant_id and l.external_id = h.call_key
    union select l.tenant_id, substr(l.started_at, 1, 10) as d from ${rows} h join calls l on l.id = h.call_key and l.tenant_id = h.tenant_id and l.external_id is null`;
}

const SQLITE_OLD_DAY = `date('now', '-1 day')`;
const POSTGRES_OLD_DAY = `to_char(cast(now() at time zone 'UTC' as date) - 1, 'YYYY-MM-DD')`;

function bump(selects: string[], oldDay: string): string {
  return `insert into report_changes (tenant_id, utc_day, version)
    select distinct tenant_id, d, 1 from (${selects.join(' union ')}) marked where d is not null and d < ${oldDay}
    on conflict (tenant_id, utc_day) do update set version = report_changes.version + 1`;
}

const BUMP_TENANT = (tenant: string) =>
  `insert into report_changes (tenant_id, utc_day, version) values (${tenant}, '*', 1)
    on conflict (tenant_id, utc_day) do update set version = report_changes.version + 1`;

async function sqliteTriggers(db: Kysely<unknown>): Promise<void> {
  for (const marked of MARKED) {
    const extra = (row: string) => (marked.table === 'call_handling' ? [handledLegDays(`(select ${row}.tenant_id as tenant_id, ${row}.call_key as call_key)`)] : []);
    const on = (row: string) => [...daySelects(marked, rowOf(marked, row)), ...extra(row)];
    const when = (...rows: string[]) => (marked.rowWhen ? `when ${rows.map((row) => marked.rowWhen?.(row)).join(' or ')} ` : '');
    await sql
      .raw(`create trigger report_mark_${marked.table}_insert after insert on ${marked.table} ${when('new')}begin ${bump(on('new'), SQLITE_OLD_DAY)}; end`)
      .execute(db);
    await sql
      .raw(
        `create trigger report_mark_${marked.table}_update after update of ${marked.columns.join(', ')} on ${marked.table} ${when('old', 'new')}begin ${bump([...on('old'), ...on('new')], SQLITE_OLD_DAY)}; end`,
      )
      .execute(db);
    await sql.raw(`create trigger report_mark_${marked.table}_delete after delete on ${marked.table} ${when('old')}begin ${bump(on('old'), SQLITE_OLD_DAY)}; end`).execute(db);
  }
  await sql
    .raw(
      `create trigger report_mark_customers_update after update of branch, assigned_rep_id on customers
      when old.branch is not new.branch or old.assigned_rep_id is not new.assigned_rep_id begin ${BUMP_TENANT('new.tenant_id')}; end`,
    )
    .execute(db);
  await sql.raw(`create trigger report_mark_customers_delete after delete on customers begin ${BUMP_TENANT('old.tenant_id')}; end`).execute(db);
  await sql
    .raw(`create trigger report_mark_users_update after update of branch on users when old.branch is not new.branch begin ${BUMP_TENANT('new.tenant_id')}; end`)
    .execute(db);
  await sql.raw(`create trigger report_mark_users_delete after delete on users begin ${BUMP_TENANT('old.tenant_id')}; end`).execute(db);
}

async function postgresTriggers(db: Kysely<unknown>): Promise<void> {
  for (const marked of MARKED) {
    if (marked.rowWhen) {
      await postgresRowTriggers(db, marked, marked.rowWhen);
      continue;
    }
    const on = (rows: string) => [...daySelects(marked, rows), ...(marked.table === 'call_handling' ? [handledLegDays(rows)] : [])];
    // Statement triggers with transition tables: a bulk insert bumps each day once.
    await sql
      .raw(
        `create function report_mark_${marked.table}() returns trigger language plpgsql as $$
        begin
          if tg_op = 'INSERT' then
            ${bump(on('new_rows'), POSTGRES_OLD_DAY)};
          elsif tg_op = 'UPDATE' then
            ${bump([...on('old_rows'), ...on('new_rows')], POSTGRES_OLD_DAY)};
          else
            ${bump(on('old_rows'), POSTGRES_OLD_DAY)};
          end if;
          return null;
        end $$`,
      )
      .execute(db);
    const run = `for each statement execute function report_mark_${marked.table}()`;
    await sql.raw(`create trigger report_mark_${marked.table}_insert after insert on ${marked.table} referencing new table as new_rows ${run}`).execute(db);
    await sql
      .raw(`create trigger report_mark_${marked.table}_update after update on ${marked.table} referencing old table as old_rows new table as new_rows ${run}`)
      .execute(db);
    await sql.raw(`create trigger report_mark_${marked.table}_delete after delete on ${marked.table} referencing old table as old_rows ${run}`).execute(db);
  }
  await sql
    .raw(
      `create function report_mark_tenant() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          ${BUMP_TENANT('old.tenant_id')};
        else
          ${BUMP_TENANT('new.tenant_id')};
        end if;
        return null;
      end $$`,
    )
    .execute(db);
  await sql
    .raw(
      `create trigger report_mark_customers_update after update of branch, assigned_rep_id on customers for each row
      when (old.branch is distinct from new.branch or old.assigned_rep_id is distinct from new.assigned_rep_id) execute function report_mark_tenant()`,
    )
    .execute(db);
  await sql.raw(`create trigger report_mark_customers_delete after delete on customers for each row execute function report_mark_tenant()`).execute(db);
  await sql
    .raw(`create trigger report_mark_users_update after update of branch on users for each row when (old.branch is distinct from new.branch) execute function report_mark_tenant()`)
    .execute(db);
  await sql.raw(`create trigger report_mark_users_delete after delete on users for each row execute function report_mark_tenant()`).execute(db);
}

/** Row triggers that run only for the rows `when` accepts (transition tables take no condition). */
async function postgresRowTriggers(db: Kysely<unknown>, marked: MarkedTable, when: (row: string) => string): Promise<void> {
  await sql
    .raw(
      `create function report_mark_${marked.table}() returns trigger language plpgsql as $$
      begin
        if tg_op <> 'INSERT' then
          ${bump(daySelects(marked, rowOf(marked, 'old')), POSTGRES_OLD_DAY)};
        end if;
        if tg_op <> 'DELETE' then
          ${bump(daySelects(marked, rowOf(marked, 'new')), POSTGRES_OLD_DAY)};
        end if;
        return null;
      end $$`,
    )
    .execute(db);
  const run = `execute function report_mark_${marked.table}()`;
  await sql.raw(`create trigger report_mark_${marked.table}_insert after insert on ${marked.table} for each row when (${when('new')}) ${run}`).execute(db);
  await sql.raw(`create trigger report_mark_${marked.table}_update after update on ${marked.table} for each row when (${when('old')} or ${when('new')}) ${run}`).execute(db);
  await sql.raw(`create trigger report_mark_${marked.table}_delete after delete on ${marked.table} for each row when (${when('old')}) ${run}`).execute(db);
}

export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('report_changes')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    /** A UTC day (YYYY-MM-DD), or '*': what a group is changed. */
    .addColumn('utc_day', 'text', (c) => c.notNull())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('report_changes_pk', ['tenant_id', 'utc_day'])
    .execute();

  await db.schema
    .createTable('report_rollup_days')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('time_zone', 'text', (c) => c.notNull())
    /** The local date (YYYY-MM-DD) in time_zone. */
    .addColumn('day', 'text', (c) => c.notNull())
    /** Sum of the report_changes versions the day's figures were built from (rollup.ts). */
    .addColumn('source_version', 'bigint', (c) => c.notNull())
    .addColumn('built_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('report_rollup_days_pk', ['tenant_id', 'time_zone', 'day'])
    .execute();

  await db.schema
    .createTable('report_rollup')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('time_zone', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('grouping', 'text', (c) => c.notNull().check(sql`grouping in ('operator', 'branch')`))
    /** A user id or a branch name; '' for nobody / no branch. */
    .addColumn('group_key', 'text', (c) => c.notNull())
    .addColumn('answered', 'integer', (c) => c.notNull())
    .addColumn('missed', 'integer', (c) => c.notNull())
    .addColumn('abandoned', 'integer', (c) => c.notNull())
    .addColumn('handle_ms', 'bigint', (c) => c.notNull())
    .addColumn('handle_n', 'integer', (c) => c.notNull())
    .addColumn('wait_ms', 'bigint', (c) => c.notNull())
    .addColumn('wait_n', 'integer', (c) => c.notNull())
    .addColumn('received', 'integer', (c) => c.notNull())
    .addColumn('replied', 'integer', (c) => c.notNull())
    .addColumn('review_ms', 'bigint', (c) => c.notNull())
    .addColumn('review_n', 'integer', (c) => c.notNull())
    .addColumn('returned', 'integer', (c) => c.notNull())
    .addColumn('handled', 'integer', (c) => c.notNull())
    .addColumn('unhandled', 'integer', (c) => c.notNull())
    /** Of `unhandled`, the calls also counted the day before (a call ringing over midnight). */
    .addColumn('unhandled_carried', 'integer', (c) => c.notNull())
    .addColumn('done', 'integer', (c) => c.notNull())
    .addColumn('overdue', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('report_rollup_pk', ['tenant_id', 'time_zone', 'grouping', 'day', 'group_key'])
    .execute();

  if (dialect === 'sqlite') await sqliteTriggers(db);
  else await postgresTriggers(db);
}
