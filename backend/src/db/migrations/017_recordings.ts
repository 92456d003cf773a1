import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// Call recordings (backend/src/recordings): the tenant's recording policy and retention in the
// telephony settings, one row per stored recording (the file lives in the recordings folder,
// named by id, with its SHA-256 here), the operator's pause/resume/record marks per call (kept
// before the file arrives, so the timeline can show them), the short-lived playback tickets
// (in the database so that any backend instance honours them), and each PBX's recorder health.
// Table types: backend/src/recordings/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema.alterTable('telephony_settings').addColumn('recording_policy', 'text').execute();
  await db.schema.alterTable('telephony_settings').addColumn('recording_retention_days', 'integer').execute();

  await db.schema
    .createTable('recordings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('call_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.references('customers.id'))
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('mime_type', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('legal_hold', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('legal_hold_reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('recordings_call').on('recordings').columns(['tenant_id', 'call_id']).execute();
  await db.schema.createIndex('recordings_age').on('recordings').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('recording_marks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('call_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('pause', 'resume', 'record')`))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('recording_marks_call').on('recording_marks').columns(['tenant_id', 'call_id', 'at']).execute();

  await db.schema
    .createTable('recording_tickets')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('recording_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('purpose', 'text', (c) => c.notNull().check(sql`purpose in ('play', 'download')`))
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();

  await db.schema
    .createTable('recorder_health')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('pbx_id', 'text', (c) => c.notNull())
    .addColumn('ok', 'integer', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('reported_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('recorder_health_pk', ['tenant_id', 'pbx_id'])
    .execute();
}
