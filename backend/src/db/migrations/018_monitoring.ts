import type { Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// Live monitoring (backend/src/telephony/monitoring.ts): a supervisor's listen/whisper/barge
// session on an operator's call leg, and an operator's request for a supervisor. The tenant
// setting says whether the operator is shown that a supervisor is listening (null: shown).
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('monitor_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id'))
    .addColumn('supervisor_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('agent_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('customer_id', 'text', (c) => c.references('customers.id'))
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('ended_at', 'text')
    .addColumn('end_reason', 'text')
    .execute();
  await db.schema.createIndex('monitor_sessions_call').on('monitor_sessions').columns(['tenant_id', 'call_id', 'ended_at']).execute();
  await db.schema
    .createTable('help_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('call_id', 'text', (c) => c.notNull().references('calls.id'))
    .addColumn('agent_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('requested_at', 'text', (c) => c.notNull())
    .addColumn('cleared_at', 'text')
    .addColumn('cleared_by', 'text', (c) => c.references('users.id'))
    .execute();
  await db.schema.createIndex('help_requests_call').on('help_requests').columns(['tenant_id', 'call_id', 'cleared_at']).execute();
  await db.schema.alterTable('telephony_settings').addColumn('monitoring_visible_to_operator', 'integer').execute();
}
