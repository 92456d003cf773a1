import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// The operator's status can be chosen while the app is offline and reach the backend later
// (the app re-sends the latest choice when it is back). Each change carries the time it was
// made; this column keeps the time of the change in force, so a change that arrives late
// never overwrites a newer one. Null: the status in force came without a time (older apps).
// Table type: backend/src/mail/schema.ts (AgentPresenceTable).
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema.alterTable('agent_presence').addColumn('status_changed_at', 'text').execute();
}
