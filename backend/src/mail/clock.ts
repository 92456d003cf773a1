import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../db/database.js';

/**
 * "Now" from the database's clock. Leases are shared by several backend instances, so their
 * expiry is judged by one clock: an instance whose clock runs fast must not take a lease that
 * is still valid. ISO 8601 with milliseconds and `Z`, like Date#toISOString, so it compares
 * as text with every stored timestamp.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema: the query reads no table
export async function databaseNow(db: Kysely<any>, dialect: SqlDialect): Promise<string> {
  const query =
    dialect === 'postgres'
      ? sql<{ now: string }>`select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as now`
      : sql<{ now: string }>`select strftime('%Y-%m-%dT%H:%M:%fZ', 'now') as now`;
  const { rows } = await query.execute(db);
  const now = rows[0]?.now;
  if (!now) throw new Error('the database did not tell the time');
  return now;
}

export function addSeconds(iso: string, seconds: number): string {
  return new Date(new Date(iso).getTime() + seconds * 1000).toISOString();
}
