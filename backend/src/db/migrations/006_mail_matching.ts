import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// Mail that cannot be trusted to belong where it points: every incident's reference token gets
// a random key (a bare `[#INC-n]` is guessable), and inbound mail carries whether it still
// needs an operator to match it to a customer and incident, and why. Also: whether the
// sanitiser could not keep all of a mail's HTML text. Table types: backend/src/mail/schema.ts.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, _dialect: SqlDialect): Promise<void> {
  await db.schema.alterTable('incidents').addColumn('ref_key', 'text').execute();

  await db.schema
    .alterTable('mail_messages')
    .addColumn('match_state', 'text', (c) => c.notNull().defaultTo('matched').check(sql`match_state in ('matched', 'needs_matching')`))
    .execute();
  await db.schema
    .alterTable('mail_messages')
    .addColumn('match_problem', 'text', (c) => c.check(sql`match_problem in ('unknown_sender', 'customer_mismatch', 'unverified_token')`))
    .execute();
  await db.schema.alterTable('mail_messages').addColumn('claimed_incident_id', 'text', (c) => c.references('incidents.id')).execute();
  await db.schema.alterTable('mail_messages').addColumn('matched_by', 'text', (c) => c.references('users.id')).execute();
  await db.schema.alterTable('mail_messages').addColumn('matched_at', 'text').execute();
  await db.schema.alterTable('mail_messages').addColumn('html_lost_text', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema
    .createIndex('mail_messages_needs_matching')
    .on('mail_messages')
    .columns(['tenant_id', 'received_at'])
    .where(sql.ref('match_state'), '=', 'needs_matching')
    .execute();
}
