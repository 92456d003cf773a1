import { Migrator, sql } from 'kysely';
import type { DatabaseHandle } from './database.js';
import { MIGRATION_NAMES, migrationsFor } from './migrations/index.js';

const MIGRATION_TABLE = 'kysely_migration';

/** The database was migrated by a newer Tsunagu backend; running this build could damage it. */
export class DatabaseTooNewError extends Error {
  constructor(readonly unknownMigrations: string[]) {
    super(
      `The database was migrated by a newer Tsunagu backend (migrations unknown to this build: ` +
        `${unknownMigrations.join(', ')}). Upgrade the backend, or point it at another database.`,
    );
    this.name = 'DatabaseTooNewError';
  }
}

async function executedMigrations(handle: DatabaseHandle): Promise<string[]> {
  const tables = await handle.db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((table) => table.name === MIGRATION_TABLE)) return [];
  const rows = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(handle.db);
  return rows.rows.map((row) => row.name);
}

/** Refuses, with a clear error, a database whose schema is newer than this build. */
export async function assertSchemaNotNewer(handle: DatabaseHandle): Promise<void> {
  const known = new Set(MIGRATION_NAMES);
  const unknown = (await executedMigrations(handle)).filter((name) => !known.has(name));
  if (unknown.length > 0) throw new DatabaseTooNewError(unknown.sort());
}

/** Brings the schema up to this build's latest migration; each migration runs in a transaction. */
export async function migrateToLatest(handle: DatabaseHandle): Promise<string[]> {
  await assertSchemaNotNewer(handle);
  const migrator = new Migrator({
    db: handle.db,
    migrationTableName: MIGRATION_TABLE,
    // Numbers are handed out per feature branch, so a lower number can land after a higher one ran
    // (020 after 024): it still runs once, in its own transaction.
    allowUnorderedMigrations: true,
    provider: { getMigrations: async () => migrationsFor(handle.dialect) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error');
    const cause = error instanceof Error ? error.message : String(error);
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${cause}`, { cause: error });
  }
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
