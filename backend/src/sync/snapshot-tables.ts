import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { SNAPSHOT_COLUMNS, SNAPSHOT_TABLES, type SnapshotTableName } from '../../../shared/snapshot-wire.js';
import { copyOutRow } from '../db/postgres-copy.js';
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
  /** The rows' arrays as one JSON text ('[]' for none), in `order`. */
  rows(array: RawBuilder<unknown>, order: RawBuilder<unknown>): RawBuilder<string>;
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
    // Cast to text: the driver would otherwise JSON.parse PostgreSQL's json into objects.
    rows: (array, order) => sql<string>`coalesce(json_agg(${array} order by ${order})::text, '[]')`,
    indexOrId: (index, id) => sql`coalesce(to_json(${index}), to_json(${id}))`,
    bytewise: (text) => sql`${text} collate "C"`,
  },
  sqlite: {
    array: (fields) => sql`json_array(${sql.join(fields)})`,
    rows: (array, order) => sql<string>`json_group_array(${array} order by ${order})`,
    indexOrId: (index, id) => sql`coalesce(${index}, ${id})`,
    // SQLite compares text byte by byte unless told otherwise.
    bytewise: (text) => text,
  },
};

const r = (column: string) => sql.ref(column);

/**
 * The page as one statement whose columns are the tables' rows, each table's JSON written by the
 * database itself (in C: the backend neither decodes rows into objects nor serialises them
 * again). `page` is the page's customers, by a range of ids with the visibility predicate; the
 * other tables read their customer-id index as the same range and join `page`, so there are no
 * `in (…)` lists. Rows refer to the page's customers, incidents and users by their position
 * (`n`) rather than by 36-character ids (shared/snapshot-wire.ts). The CTEs name the columns
 * they pass on: `con` is held for two reads (the users it refers to, then its JSON), and the
 * columns the JSON does not need were a sixth of its rows' width.
 */
function pageQuery(dialect: SqlDialect, page: SnapshotPageRange): RawBuilder<Record<SnapshotTableName, string>> {
  const json = JSON_SQL[dialect];
  const { tenantId, first, last } = page;
  const columns: Record<SnapshotTableName, RawBuilder<string>> = {
    users: sql`(select ${json.rows(json.array([r('usr.id'), r('usr.display_name')]), sql`usr.n`)} from usr)`,
    customers: sql`(select ${json.rows(
      json.array([
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
      sql`page.n`,
    )} from page
      left join usr rep on rep.id = page.assigned_rep_id
      left join customer_derived d on d.customer_id = page.id and d.tenant_id = ${tenantId})`,
    phones: sql`(select ${json.rows(json.array([r('page.n'), r('p.e164'), r('p.kind')]), sql`page.n, p.position`)}
      from customer_phones p join page on page.id = p.customer_id
      where p.tenant_id = ${tenantId} and p.customer_id between ${first} and ${last})`,
    emails: sql`(select ${json.rows(json.array([r('page.n'), r('e.email')]), sql`page.n, e.position`)}
      from customer_emails e join page on page.id = e.customer_id
      where e.tenant_id = ${tenantId} and e.customer_id between ${first} and ${last})`,
    incidents: sql`(select ${json.rows(
      json.array([r('inc.id'), r('inc.customer_n'), r('inc.title'), r('inc.status'), r('assignee.n'), r('inc.opened_at'), r('inc.closed_at'), r('inc.updated_at')]),
      sql`inc.n`,
    )} from inc left join usr assignee on assignee.id = inc.assignee_id)`,
    contacts: sql`(select ${json.rows(
      json.array([
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
      sql`con.customer_n, ${json.bytewise(r('con.occurred_at'))}, ${json.bytewise(r('con.id'))}`,
    )} from con
      left join inc ci on ci.id = con.incident_id
      left join usr agent on agent.id = con.agent_id)`,
  };
  return sql<Record<SnapshotTableName, string>>`with
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
    select ${sql.join(SNAPSHOT_TABLES.map((table) => sql`${columns[table]} as ${sql.ref(table)}`))}`;
}

/**
 * PostgreSQL settings of the page's transaction (SET LOCAL: they end with it). The planner cannot
 * estimate the CTEs' joins (a page's 4 users were priced as 51,000 rows, the contacts' join as
 * 430 million), so bigger pages passed jit_above_cost and compiled their query first: at 10,000
 * customers a page took 4 s, 3 s of it JIT, and PostgreSQL's CPU per customer was 4 times that of
 * pages of 2,000. JIT gains nothing on a query that reads a few thousand rows per table.
 * work_mem: the page's contacts (bodies included) are held for two reads and sorted for their
 * JSON; at the default 4 MB a page of 2,000 customers sorted on disk.
 */
const POSTGRES_PAGE_SETTINGS = [sql`set local jit = off`, sql`set local work_mem = '32MB'`];

const EMPTY_ROWS = Buffer.from('[]');

/**
 * The rows of every table of the page (run inside one consistent read: a transaction); null: a
 * page without customers. On PostgreSQL the one row comes through binary COPY, as bytes.
 */
export async function readSnapshotTables(db: Kysely<Database>, dialect: SqlDialect, page: SnapshotPageRange | null): Promise<SnapshotTableRows> {
  if (page === null) return Object.fromEntries(SNAPSHOT_TABLES.map((table) => [table, EMPTY_ROWS])) as SnapshotTableRows;
  if (dialect === 'postgres') {
    for (const setting of POSTGRES_PAGE_SETTINGS) await setting.execute(db);
    const fields = await copyOutRow(db, pageQuery(dialect, page).compile(db));
    if (fields.length !== SNAPSHOT_TABLES.length) throw new Error(`the snapshot page query returned ${fields.length} columns, not ${SNAPSHOT_TABLES.length}`);
    return Object.fromEntries(
      SNAPSHOT_TABLES.map((table, i) => {
        const rows = fields[i];
        if (!rows) throw new Error(`the snapshot page query returned no rows text for ${table}`);
        return [table, rows];
      }),
    ) as SnapshotTableRows;
  }
  const { rows } = await pageQuery(dialect, page).execute(db);
  const row = rows[0] as Record<SnapshotTableName, string> | undefined;
  if (!row) throw new Error('the snapshot page query returned no row');
  return Object.fromEntries(SNAPSHOT_TABLES.map((table) => [table, Buffer.from(row[table])])) as SnapshotTableRows;
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
