import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// The CTI server's routing (backend/src/telephony): tenant rules by customer type that name a
// group of agents, the per-target ring time, and the call queue (ACD). The queue lives here and
// not in a backend's memory because several backend instances answer the same PBX and must agree
// on who is next. Table types: backend/src/telephony/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema.alterTable('telephony_settings').addColumn('ring_seconds', 'integer').execute();

  await db.schema
    .createTable('routing_groups')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('routing_groups_pk', ['tenant_id', 'name'])
    .execute();
  await db.schema
    .createTable('routing_group_members')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('group_name', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addPrimaryKeyConstraint('routing_group_members_pk', ['tenant_id', 'group_name', 'user_id'])
    .addForeignKeyConstraint('routing_group_members_group', ['tenant_id', 'group_name'], 'routing_groups', ['tenant_id', 'name'])
    .execute();
  await db.schema
    .createTable('routing_rules')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('customer_type', 'text', (c) =>
      c.notNull().check(sql`customer_type in ('new', 'prospect', 'existing', 'dealer', 'agency')`),
    )
    .addColumn('group_name', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('routing_rules_pk', ['tenant_id', 'customer_type'])
    .addForeignKeyConstraint('routing_rules_group', ['tenant_id', 'group_name'], 'routing_groups', ['tenant_id', 'name'])
    .execute();

  // One row per queued call (tenant, PBX Call-ID). `polled_at` is refreshed by the PBX's hold
  // player: an entry whose caller vanished without an `abandoned` event stops counting by itself.
  await db.schema
    .createTable('call_queue')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('call_id', 'text', (c) => c.notNull())
    .addColumn('caller', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('customer_id', 'text')
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('waiting', 'delivered', 'abandoned')`))
    .addColumn('entered_at', 'text', (c) => c.notNull())
    .addColumn('polled_at', 'text', (c) => c.notNull())
    .addColumn('left_at', 'text')
    .addPrimaryKeyConstraint('call_queue_pk', ['tenant_id', 'call_id'])
    .execute();
  await db.schema.createIndex('call_queue_waiting').on('call_queue').columns(['tenant_id', 'state', 'entered_at']).execute();
  await db.schema.createIndex('call_queue_left').on('call_queue').columns(['tenant_id', 'state', 'left_at']).execute();

  // The routing decision reads the agents available now, the legs ringing now (fresh ones only:
  // a leg nobody closed must not make the planner walk the history) and whether a delivered
  // queued call has reached a phone yet (its legs in `calls`, by Call-ID).
  await db.schema.createIndex('agent_presence_tenant_status').on('agent_presence').columns(['tenant_id', 'status', 'since']).execute();
  await db.schema.createIndex('calls_tenant_status_updated').on('calls').columns(['tenant_id', 'status', 'updated_at']).execute();
  await db.schema.createIndex('calls_tenant_external').on('calls').columns(['tenant_id', 'external_id']).execute();
}
