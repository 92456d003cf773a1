import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// The callback worklist (backend/src/calls/worklist.ts) reads open callbacks by due time: an
// operator's own, and a tenant's overdue ones for the team and the supervisor. The columns are
// migration 007's (due_at was there, unset until the wrap-up asked for a time).
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema.createIndex('callbacks_open_due').on('callbacks').columns(['tenant_id', 'done_at', 'due_at']).execute();
}
