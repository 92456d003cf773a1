import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { SNAPSHOT_COLUMNS, SNAPSHOT_TABLES, type SnapshotTableName } from '../../../shared/snapshot-wire.js';
import type { Database } from '../db/schema.js';

export type SqlDialect = 'sqlite' | 'postgres';

/** The rows of each table of a page as JSON text (arrays of arrays, SNAPSHOT_COLUMNS' order), written by the database. */
export type SnapshotTableRows = Record<SnapshotTableName, string>;

/** Which customers a page holds: the tenant's customers with ids from `first` to `last` that `visible` admits. */
export interface SnapshotPageRange {
  tenantId: string;
  first: string;
  last: string;
  /** The visibility predicate on `c` (and, for grown rights, what was not visible before). */
  visible: Expression<SqlBool>;
}

/**
 * One table's rows as one JSON text, built by the database: `rows` are the columns in wire
 * order, `order` their order within the page. The database writes the JSON in C, so the backend
 * neither decodes rows into objects nor serialises them again (bench:sync: most of the backend's
 * time per customer went there).
 */
function rowsJson(dialect: SqlDialect, row: readonly RawBuilder<unknown>[], order: RawBuilder<unknown>): RawBuilder<string> {
  const fields = sql.join(row);
  // Cast to text: the driver would otherwise JSON.parse PostgreSQL's json into objects.
  if (dialect === 'postgres') return sql<string>`coalesce(json_agg(json_build_array(${fields}) order by ${order})::text, '[]')`;
  return sql<string>`json_group_array(json_array(${fields}) order by ${order})`;
}

const r = (column: string) => sql.ref(column);

/**
 * The queries of a page, one per table, each a range of the page's customer ids joined to the
 * customers for the visibility predicate: no `in (…)` lists of ids, and each table's index on
 * its customer id is read once as a range.
 */
function tableQueries(dialect: SqlDialect, page: SnapshotPageRange): Record<SnapshotTableName, RawBuilder<{ rows: string }>> {
  const inPage = sql<SqlBool>`c.tenant_id = ${page.tenantId} and c.id between ${page.first} and ${page.last} and ${page.visible}`;
  return {
    customers: sql`select ${rowsJson(
      dialect,
      [
        r('c.id'),
        r('c.code'),
        r('c.name'),
        r('c.name_kana'),
        r('c.postal_code'),
        r('c.address'),
        r('c.branch'),
        r('c.assigned_rep_id'),
        r('u.display_name'),
        r('c.classification'),
        r('c.type'),
        r('c.updated_at'),
        r('d.attributes'),
      ],
      sql`c.id`,
    )} as rows
      from customers c
      left join users u on u.id = c.assigned_rep_id
      left join customer_derived d on d.customer_id = c.id and d.tenant_id = c.tenant_id
      where ${inPage}`,
    phones: sql`select ${rowsJson(dialect, [r('p.customer_id'), r('p.e164'), r('p.kind')], sql`p.customer_id, p.position`)} as rows
      from customer_phones p
      join customers c on c.id = p.customer_id
      where p.tenant_id = ${page.tenantId} and p.customer_id between ${page.first} and ${page.last} and ${inPage}`,
    emails: sql`select ${rowsJson(dialect, [r('e.customer_id'), r('e.email')], sql`e.customer_id, e.position`)} as rows
      from customer_emails e
      join customers c on c.id = e.customer_id
      where e.tenant_id = ${page.tenantId} and e.customer_id between ${page.first} and ${page.last} and ${inPage}`,
    incidents: sql`select ${rowsJson(
      dialect,
      [r('i.id'), r('i.customer_id'), r('i.title'), r('i.status'), r('i.assignee_id'), r('u.display_name'), r('i.opened_at'), r('i.closed_at'), r('i.updated_at')],
      sql`i.customer_id, i.opened_at, i.id`,
    )} as rows
      from incidents i
      join customers c on c.id = i.customer_id
      left join users u on u.id = i.assignee_id
      where i.tenant_id = ${page.tenantId} and i.customer_id between ${page.first} and ${page.last} and ${inPage}`,
    contacts: sql`select ${rowsJson(
      dialect,
      [
        r('ct.id'),
        r('ct.incident_id'),
        r('ct.customer_id'),
        r('ct.kind'),
        r('ct.direction'),
        r('ct.occurred_at'),
        r('ct.agent_id'),
        r('u.display_name'),
        r('ct.summary'),
        r('ct.body'),
        r('ct.call_meta'),
      ],
      sql`ct.customer_id, ct.occurred_at, ct.id`,
    )} as rows
      from contacts ct
      join customers c on c.id = ct.customer_id
      left join users u on u.id = ct.agent_id
      where ct.tenant_id = ${page.tenantId} and ct.customer_id between ${page.first} and ${page.last} and ${inPage}`,
  };
}

/** The rows of every table of the page, one query per table (run them inside one consistent read). */
export async function readSnapshotTables(db: Kysely<Database>, dialect: SqlDialect, page: SnapshotPageRange | null): Promise<SnapshotTableRows> {
  const result = {} as SnapshotTableRows;
  if (page === null) {
    for (const table of SNAPSHOT_TABLES) result[table] = '[]';
    return result;
  }
  const queries = tableQueries(dialect, page);
  for (const table of SNAPSHOT_TABLES) {
    const { rows } = await queries[table].execute(db);
    result[table] = rows[0]?.rows ?? '[]';
  }
  return result;
}

/** The SQL of each table's query, for EXPLAIN (tests and the plan check in bench:sync). */
export function snapshotTableSql(db: Kysely<Database>, dialect: SqlDialect, page: SnapshotPageRange): Record<SnapshotTableName, { sql: string; parameters: readonly unknown[] }> {
  const queries = tableQueries(dialect, page);
  const result = {} as Record<SnapshotTableName, { sql: string; parameters: readonly unknown[] }>;
  for (const table of SNAPSHOT_TABLES) result[table] = queries[table].compile(db);
  return result;
}

/** `{"customers":{"columns":[…],"rows":…},…}`: the page's tables around the rows the database wrote. */
export function snapshotTablesJson(rows: SnapshotTableRows): string {
  return `{${SNAPSHOT_TABLES.map((table) => `"${table}":{"columns":${JSON.stringify(SNAPSHOT_COLUMNS[table])},"rows":${rows[table]}}`).join(',')}}`;
}
