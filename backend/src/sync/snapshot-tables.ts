import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { SNAPSHOT_COLUMNS, SNAPSHOT_TABLES, type SnapshotTableName } from '../../../shared/snapshot-wire.js';
import { copyOutBinary, forEachBinaryCopyRow } from '../db/postgres-copy.js';
import type { Database } from '../db/schema.js';

export type SqlDialect = 'sqlite' | 'postgres';

/**
 * A page's tables as JSON in UTF-8, `{"users":{"columns":[…],"rows":[…]},…}` (rows as arrays
 * in SNAPSHOT_COLUMNS' order), the rows written by the database. Bytes, not a string: on
 * PostgreSQL they arrive as bytes (postgres-copy.ts) and go out as they came, never decoded.
 */
export type SnapshotTablesJson = Buffer;

/** What comes before each table's rows (closing the previous table), and after the last table's. */
const TABLE_OPENINGS = SNAPSHOT_TABLES.map((table, i) => `${i === 0 ? '{' : ']},'}"${table}":{"columns":${JSON.stringify(SNAPSHOT_COLUMNS[table])},"rows":[`);
const TABLES_CLOSING = ']}}';

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
    // The page's whole tables JSON as rows of (comma, text): each table's opening, then its rows
    // as (',', the row's JSON) in its `order`, and the closing (parenthesised branches of UNION
    // ALL run one after the other, each sorted; the page's settings rule out a parallel plan).
    // readSnapshotTables turns the binary COPY of these rows into the JSON in place. Aggregated
    // into one JSON text per table instead (json_agg), the rows cost PostgreSQL a fifth more:
    // the growing text was copied and its memory faulted in.
    select: (tables) =>
      sql.join(
        [
          ...tables.flatMap((table, t) => [
            sql`(select ''::text as comma, ${TABLE_OPENINGS[t]}::text as json)`,
            sql`(select ','::text, ${table.array}::text ${table.from} order by ${table.order})`,
          ]),
          sql`(select ''::text, ${TABLES_CLOSING}::text)`,
        ],
        sql` union all `,
      ),
    indexOrId: (index, id) => sql`coalesce(to_json(${index}), to_json(${id}))`,
    bytewise: (text) => sql`${text} collate "C"`,
  },
  sqlite: {
    array: (fields) => sql`json_array(${sql.join(fields)})`,
    // One row, a column per table: its rows as one JSON array.
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
 * PostgreSQL it does not even decode the text, see readSnapshotTables). `page` is the page's
 * customers, by a range of ids with the visibility predicate; the other tables read their
 * customer-id index as the same range and join `page`, so there are no
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

/**
 * The page's tables as JSON (run inside one consistent read: a transaction); null: a page
 * without customers. On PostgreSQL the statement's rows come through binary COPY as bytes and
 * become the JSON where they lie (tablesOfCopy); on SQLite its one row has each table's rows.
 */
export async function readSnapshotTables(db: Kysely<Database>, dialect: SqlDialect, page: SnapshotPageRange | null): Promise<SnapshotTablesJson> {
  if (page === null) return tablesJson(SNAPSHOT_TABLES.map(() => '[]'));
  if (dialect === 'postgres') {
    await POSTGRES_PAGE_SETTINGS.execute(db);
    return tablesOfCopy(await copyOutBinary(db, pageQuery(dialect, page).compile(db)));
  }
  const { rows } = await pageQuery(dialect, page).execute(db);
  const row = rows[0] as Record<string, string> | undefined;
  if (!row) throw new Error('the snapshot page query returned no row');
  return tablesJson(SNAPSHOT_TABLES.map((_, t) => row[`t${t}`] ?? '[]'));
}

/** The tables' JSON around each table's rows (a JSON array each). */
function tablesJson(rows: readonly string[]): SnapshotTablesJson {
  const inside = rows.map((array, t) => {
    if (!array.startsWith('[') || !array.endsWith(']')) throw new Error(`the snapshot page query returned no JSON array for ${SNAPSHOT_TABLES[t] ?? t}`);
    return array.slice(1, -1);
  });
  return Buffer.from(`${TABLE_OPENINGS.map((opening, t) => opening + (inside[t] ?? '')).join('')}${TABLES_CLOSING}`);
}

const SPACE = 0x20;
const COMMA = 0x2c;
/** The openings and the closing as PostgreSQL returns them, in their order. */
const OPENING_BYTES = [...TABLE_OPENINGS, TABLES_CLOSING].map((text) => Buffer.from(text));

/**
 * The tables' JSON from the binary COPY of the page's (comma, text) rows, made where it lies:
 * each row's field count and lengths (6 + 4 bytes) are overwritten with spaces, which JSON
 * allows between tokens, as is the comma before a table's first row. No row is copied: a page
 * has some 8 rows per customer, and copying each into a new buffer cost the backend more than
 * the rest of the request.
 */
function tablesOfCopy(output: Buffer): SnapshotTablesJson {
  let first = -1;
  let last = -1;
  let openings = 0;
  let afterOpening = false;
  forEachBinaryCopyRow(output, 2, (starts, ends) => {
    const comma = starts[0] ?? -1;
    const text = starts[1] ?? -1;
    if (comma < 0 || text < 0) throw new Error('the snapshot page query returned a NULL');
    const commaLength = (ends[0] ?? comma) - comma;
    output.fill(SPACE, comma - 6, comma);
    output.fill(SPACE, text - 4, text);
    if (commaLength === 0) {
      // The tables in their order, each once: a row out of place would make JSON the client refuses.
      if (!OPENING_BYTES[openings]?.equals(output.subarray(text, ends[1]))) throw new Error(`the snapshot page query returned table ${openings}'s opening out of place`);
      openings++;
      afterOpening = true;
    } else {
      if (commaLength !== 1 || output[comma] !== COMMA) throw new Error('the snapshot page query returned a row without its comma');
      if (openings === 0 || openings === OPENING_BYTES.length) throw new Error('the snapshot page query returned a row outside the tables');
      if (afterOpening) output[comma] = SPACE;
      afterOpening = false;
    }
    if (first < 0) first = comma - 6;
    last = ends[1] ?? text;
  });
  if (openings !== OPENING_BYTES.length) throw new Error(`the snapshot page query returned ${openings} tables' openings and closing, not ${OPENING_BYTES.length}`);
  return output.subarray(first, last);
}

/** The SQL of the page's query, for EXPLAIN (tests). */
export function snapshotPageSql(db: Kysely<Database>, dialect: SqlDialect, page: SnapshotPageRange): { sql: string; parameters: readonly unknown[] } {
  return pageQuery(dialect, page).compile(db);
}

