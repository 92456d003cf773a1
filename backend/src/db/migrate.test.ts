import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../testing/harness.js';
import { DatabaseTooNewError, migrateToLatest } from './migrate.js';
import { MIGRATION_NAMES } from './migrations/index.js';

describe.each(DIALECTS)('migrations on %s', (dialect) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.dispose();
    database = undefined;
  });

  it('migrates a fresh database to the latest schema, and a second run does nothing', async () => {
    database = await openTestDatabase(dialect);
    const executed = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(database.handle.db);
    expect(executed.rows.map((row) => row.name)).toEqual([...MIGRATION_NAMES]);
    expect(await migrateToLatest(database.handle)).toEqual([]);
  });

  it('numbers audit events by itself', async () => {
    database = await openTestDatabase(dialect);
    const event = { tenant_id: 't', user_id: null, action: 'login', customer_id: null, details: '{}', at: new Date().toISOString() };
    await database.handle.db.insertInto('audit_events').values([event, event]).execute();
    const ids = (await database.handle.db.selectFrom('audit_events').select('id').orderBy('id').execute()).map((row) => Number(row.id));
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBeGreaterThan(ids[0] ?? Infinity);
  });

  it('refuses a database migrated by a newer backend, naming the unknown migration', async () => {
    database = await openTestDatabase(dialect);
    await sql`insert into kysely_migration (name, timestamp) values ('999_from_the_future', ${new Date().toISOString()})`.execute(database.handle.db);
    const attempt = migrateToLatest(database.handle);
    await expect(attempt).rejects.toBeInstanceOf(DatabaseTooNewError);
    await expect(attempt).rejects.toThrow(/999_from_the_future/);
  });

  it.runIf(dialect === 'sqlite')('opens SQLite in WAL mode with foreign keys enforced', async () => {
    database = await openTestDatabase(dialect);
    const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(database.handle.db);
    expect(journal.rows[0]?.journal_mode).toBe('wal');
    const foreignKeys = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(database.handle.db);
    expect(foreignKeys.rows[0]?.foreign_keys).toBe(1);
  });
});
