import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// SIP users an admin took away from a user (backend/src/users/sip-users.ts). The PBX checks
// short-lived credentials on its own (autheph), so the previous holder's phone may register as
// the old SIP user until those expire: a released SIP user goes to nobody else before then.
// Keyed by the lower-case SIP user (unique across the PBX, like users.sip_user). Table type:
// backend/src/users/schema.ts.
// And the tenant's own time zone for reports' days, weeks and months (null: the deployment's
// TSUNAGU_TIME_ZONE), set in the admin console.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('sip_user_releases')
    .addColumn('sip_user', 'text', (c) => c.primaryKey())
    // No foreign key: a released SIP user outlives its holder's deletion.
    .addColumn('released_by_user_id', 'text', (c) => c.notNull())
    .addColumn('released_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('tenants').addColumn('time_zone', 'text').execute();
}
