import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { SNAPSHOT_COLUMNS, SNAPSHOT_TABLES, type SnapshotTableName } from '../../../shared/snapshot-wire.js';
import { copyOutBinary, forEachBinaryCopyRow } from '../db/postgres-copy.js';
import type { Database } from '../db/schema.js';

export type SqlDialect = 'sqlite' | 'postgres';

/**
 * The rows of each table of a page as JSON text in UTF-8 (arrays of arrays, SNAPSHOT_COLUMNS'
 * order), written by the database. Bytes, not strings: on PostgreSQL they arrive as bytes
 * (postgres-copy.ts) and go out as they came, never decoded.
 */
export type SnapshotTableRows = Record<SnapshotTableName, Buffer>;

/** Which customers a page holds: the tenant's customers with ids from `first` to `last` that `visible` admits. */
export interface SnapshotPageRange {
  tenantId: string;
  first: string;
  last: string;
  /** The visibility predicate on `c` (and, for grown rights, what was not visible before). */
  visible: Expression<SqlBool>;
}

/** The JSON functions of each dialect that the page's query needs. */
interface JsonSql {
  array(fields: readonly RawBuilder<unknown>[]): RawBuilder<unknown>;
  /** The statement's body after the CTEs: every table's rows (see readSnapshotTables for the shape of its result). */
  select(tables: readonly TableRows[]): RawBuilder<unknown>;
  /** `index` as a JSON number, or `id` as a JSON string where `index` is NULL. */
  indexOrId(index: RawBuilder<unknown>, id: RawBuilder<unknown>): RawBuilder<unknown>;
  /**
   * A text sort key compared byte by byte. The keys are ids and ISO times (ASCII, one format),
   * whose order is the same in every collation; PostgreSQL's locale-aware comparison of them
   * was an eighth of its CPU for a page (65 -> 57 us per customer).
   */
  bytewise(text: RawBuilder<unknown>): RawBuilder<unknown>;
}

const JSON_SQL: Record<SqlDialect, JsonSql> = {
  postgres: {
    array: (fields) => sql`json_build_array(${sql.join(fields)})`,
    // A row per table row, `t` the table's number, in the tables' order and each table's `order`
    // (parenthesised branches of UNION ALL run one after the other, each sorted; the page's
    // settings rule out a parallel plan). Aggregated into one JSON text per table, the rows
    // cost PostgreSQL a fifth more: the growing text was copied and its memory faulted in.
    select: (tables) =>
      sql.join(
        tables.map((table, t) => sql`(select ${sql.lit(t)}::int2 as t, ${table.array}::text as j ${table.from} order by ${table.order})`),
        sql` union all `,
      ),
    indexOrId: (index, id) => sql`coalesce(to_json(${index}), to_json(${id}))`,
    bytewise: (text) => sql`${text} collate "C"`,
  },
  sqlite: {
    array: (fields) => sql`json_array(${sql.join(fields)})`,
    // One row, a column per table: its rows as one JSON text.
    select: (tables) => sql`select ${sql.join(tables.map((table, t) => sql`(select json_group_array(${table.array} order by ${table.order}) ${table.from}) as ${sql.ref(`t${t}`)}`))}`,
    indexOrId: (index, id) => sql`coalesce(${index}, ${id})`,
    // SQLite compares text byte by byte unless told otherwise.
    bytewise: (text) => text,
  },
};

/** A table of the page: its row's JSON array, where the rows come from, their order. */
interface TableRows {
  array: RawBuilder<unknown>;
  from: RawBuilder<unknown>;
  order: RawBuilder<unknown>;
}

const r = (column: string) => sql.ref(column);

/**
 * The page as one statement giving every table's rows, each row's JSON written by the database
 * itself (in C: the backend neither decodes rows into objects nor serialises them again; on
 * PostgreSQL it does not even decode the text, see readSnapshotTables). `page` is the page's customers, by a range of ids with the visibility predicate; the
 * other tables read their customer-id index as the same range and join `page`, so there are no
 * `in (…)` lists. Rows refer to the page's customers, incidents and users by their position
 * (`n`) rather than by 36-character ids (shared/snapshot-wire.ts). The CTEs name the columns
 * they pass on: `con` is held for two reads (the users it refers to, then its JSON), and the
 * columns the JSON does not need were a sixth of its rows' width.
 */
function pageQuery(dialect: SqlDialect, page: SnapshotPageRange): RawBuilder<unknown> {
  const json = JSON_SQL[dialect];
  const { tenantId, first, last } = page;
  const tables: Record<SnapshotTableName, TableRows> = {
    users: { array: json.array([r('usr.id'), r('usr.display_name')]), from: sql`from usr`, order: sql`usr.n` },
    customers: {
      array: json.array([
        r('page.id'),
        r('page.code'),
        r('page.name'),
        r('page.name_kana'),
        r('page.postal_code'),
        r('page.address'),
        r('page.branch'),
        r('rep.n'),
        r('page.classification'),
        r('page.type'),
        r('page.updated_at'),
        r('d.attributes'),
      ]),
      from: sql`from page
        left join usr rep on rep.id = page.assigned_rep_id
        left join customer_derived d on d.customer_id = page.id and d.tenant_id = ${tenantId}`,
      order: sql`page.n`,
    },
    phones: {
      array: json.array([r('page.n'), r('p.e164'), r('p.kind')]),
      from: sql`from customer_phones p join page on page.id = p.customer_id
        where p.tenant_id = ${tenantId} and p.customer_id between ${first} and ${last}`,
      order: sql`page.n, p.position`,
    },
    emails: {
      array: json.array([r('page.n'), r('e.email')]),
      from: sql`from customer_emails e join page on page.id = e.customer_id
        where e.tenant_id = ${tenantId} and e.customer_id between ${first} and ${last}`,
      order: sql`page.n, e.position`,
    },
    incidents: {
      array: json.array([r('inc.id'), r('inc.customer_n'), r('inc.title'), r('inc.status'), r('assignee.n'), r('inc.opened_at'), r('inc.closed_at'), r('inc.updated_at')]),
      from: sql`from inc left join usr assignee on assignee.id = inc.assignee_id`,
      order: sql`inc.n`,
    },
    contacts: {
      array: json.array([
        r('con.id'),
        json.indexOrId(r('ci.n'), r('con.incident_id')),
        r('con.customer_n'),
        r('con.kind'),
        r('con.direction'),
        r('con.occurred_at'),
        r('agent.n'),
        r('con.summary'),
        r('con.body'),
        r('con.call_meta'),
      ]),
      from: sql`from con
        left join inc ci on ci.id = con.incident_id
        left join usr agent on agent.id = con.agent_id`,
      order: sql`con.customer_n, ${json.bytewise(r('con.occurred_at'))}, ${json.bytewise(r('con.id'))}`,
    },
  };
  return sql`with
    page as (
      select c.id, c.code, c.name, c.name_kana, c.postal_code, c.address, c.branch, c.assigned_rep_id, c.classification, c.type, c.updated_at,
        row_number() over (order by c.id) - 1 as n
      from customers c
      where c.tenant_id = ${tenantId} and c.id between ${first} and ${last} and ${page.visible}
    ),
    inc as (
      select i.id, i.title, i.status, i.assignee_id, i.opened_at, i.closed_at, i.updated_at, page.n as customer_n, row_number() over (order by page.n, ${json.bytewise(r('i.opened_at'))}, ${json.bytewise(r('i.id'))}) - 1 as n
      from incidents i join page on page.id = i.customer_id
      where i.tenant_id = ${tenantId} and i.customer_id between ${first} and ${last}
    ),
    con as (
      select ct.id, ct.incident_id, ct.kind, ct.direction, ct.occurred_at, ct.agent_id, ct.summary, ct.body, ct.call_meta, page.n as customer_n
      from contacts ct join page on page.id = ct.customer_id
      where ct.tenant_id = ${tenantId} and ct.customer_id between ${first} and ${last}
    ),
    referenced as (
      select assigned_rep_id as id from page where assigned_rep_id is not null
      union select assignee_id from inc where assignee_id is not null
      union select agent_id from con where agent_id is not null
    ),
    usr as (
      select referenced.id, u.display_name, row_number() over (order by referenced.id) - 1 as n
      from referenced left join users u on u.id = referenced.id
    )
    ${json.select(SNAPSHOT_TABLES.map((table) => tables[table]))}`;
}

/**
 * PostgreSQL settings of the page's transaction (SET LOCAL: they end with it). The planner cannot
 * estimate the CTEs' joins (a page's 4 users were priced as 51,000 rows, the contacts' join as
 * 430 million), so bigger pages passed jit_above_cost and compiled their query first: at 10,000
 * customers a page took 4 s, 3 s of it JIT, and PostgreSQL's CPU per customer was 4 times that of
 * pages of 2,000. JIT gains nothing on a query that reads a few thousand rows per table.
 * work_mem: the page's contacts (bodies included) are held for two reads and sorted for their
 * JSON; at the default 4 MB a page of 2,000 customers sorted on disk. No parallel plan: the
 * tables' rows come in the order of the statement's branches (JSON_SQL.postgres.select). One
 * statement (set_config with is_local), one round trip.
 */
const POSTGRES_PAGE_SETTINGS = sql`select set_config('jit', 'off', true), set_config('work_mem', '32MB', true), set_config('max_parallel_workers_per_gather', '0', true)`;

const EMPTY_ROWS = Buffer.from('[]');

/**
 * The rows of every table of the page (run inside one consistent read: a transaction); null: a
 * page without customers. On PostgreSQL the statement's rows (table number, row's JSON) come
 * through binary COPY as bytes and each table's are joined into its JSON array here; on SQLite
 * its one row has each table's JSON array.
 */
export async function readSnapshotTables(db: Kysely<Database>, dialect: SqlDialect, page: SnapshotPageRange | null): Promise<SnapshotTableRows> {
  if (page === null) return Object.fromEntries(SNAPSHOT_TABLES.map((table) => [table, EMPTY_ROWS])) as SnapshotTableRows;
  if (dialect === 'postgres') {
    await POSTGRES_PAGE_SETTINGS.execute(db);
    return tablesOfCopy(await copyOutBinary(db, pageQuery(dialect, page).compile(db)));
  }
  const { rows } = await pageQuery(dialect, page).execute(db);
  const row = rows[0] as Record<string, string> | undefined;
  if (!row) throw new Error('the snapshot page query returned no row');
  return Object.fromEntries(SNAPSHOT_TABLES.map((table, t) => [table, Buffer.from(row[`t${t}`] ?? '')])) as SnapshotTableRows;
}

/** Each table's JSON array (`[row,row,…]`) from the binary COPY of the (table number, row JSON) rows, tables in order. */
function tablesOfCopy(output: Buffer): SnapshotTableRows {
  // Byte ranges of each table's rows in `output`: start, end, start, end…
  const ranges: number[][] = SNAPSHOT_TABLES.map(() => []);
  let previous = 0;
  forEachBinaryCopyRow(output, 2, (starts, ends) => {
    const at = starts[0] ?? -1;
    const start = starts[1] ?? -1;
    if (at < 0 || (ends[0] ?? 0) - at !== 2 || start < 0) throw new Error('the snapshot page query returned a row without its table number or JSON');
    const t = output.readInt16BE(at);
    const table = ranges[t];
    if (table === undefined || t < previous) throw new Error(`the snapshot page query returned table number ${t} after ${previous}`);
    previous = t;
    table.push(start, ends[1] ?? start);
  });
  return Object.fromEntries(
    SNAPSHOT_TABLES.map((name, t) => {
      const table = ranges[t] ?? [];
      let length = 2 + Math.max(table.length / 2 - 1, 0);
      for (let i = 0; i < table.length; i += 2) length += (table[i + 1] ?? 0) - (table[i] ?? 0);
      const json = Buffer.allocUnsafe(length);
      let offset = json.write('[');
      for (let i = 0; i < table.length; i += 2) {
        if (i > 0) offset += json.write(',', offset);
        offset += output.copy(json, offset, table[i], table[i + 1]);
      }
      json.write(']', offset);
      return [name, json];
    }),
  ) as SnapshotTableRows;
}

/** The SQL of the page's query, for EXPLAIN (tests). */
export function snapshotPageSql(db: Kysely<Database>, dialect: SqlDialect, page: SnapshotPageRange): { sql: string; parameters: readonly unknown[] } {
  return pageQuery(dialect, page).compile(db);
}

/** What goes before each table's rows and after the last: `"users":{"columns":[…],"rows":` …, `}}`. */
const TABLE_OPENINGS = SNAPSHOT_TABLES.map((table, i) => Buffer.from(`${i === 0 ? '{' : '},'}"${table}":{"columns":${JSON.stringify(SNAPSHOT_COLUMNS[table])},"rows":`));
const TABLES_CLOSING = Buffer.from('}}');

/** `{"users":{"columns":[…],"rows":…},…}`: the page's tables around the rows the database wrote, as the parts of the body. */
export function snapshotTablesJson(rows: SnapshotTableRows): Buffer[] {
  return [...SNAPSHOT_TABLES.flatMap((table, i) => [TABLE_OPENINGS[i] as Buffer, rows[table]]), TABLES_CLOSING];
}
