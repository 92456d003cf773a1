import { Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../testing/harness.js';
import { migrateToLatest } from '../migrate.js';
import { MIGRATION_NAMES, migrationsFor } from './index.js';

const BEFORE = MIGRATION_NAMES[MIGRATION_NAMES.indexOf('013_call_replies') - 1]!;

// PostgreSQL alters the table in place; SQLite rebuilds it, so only there can rows be lost.
describe('migration 013 on sqlite', () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.dispose();
    database = undefined;
  });

  it('keeps every existing reply, answering its mail, and then refuses a reply without an origin', async () => {
    database = await openTestDatabase('sqlite', {
      migrate: (handle) =>
        new Migrator({ db: handle.db, migrationTableName: 'kysely_migration', provider: { getMigrations: async () => migrationsFor(handle.dialect) } }).migrateTo(BEFORE),
    });
    const { db } = database.handle;
    // Only the reply rows matter here: their parents are left out.
    await sql`pragma foreign_keys = off`.execute(db);
    const now = '2026-12-01T00:00:00.000Z';
    await sql`insert into mail_replies (id, tenant_id, mail_id, incident_id, customer_id, author_id, state, subject, body, to_address,
        from_address, message_id, in_reply_to, references_ids, attempts, sent_at, contact_id, created_at, updated_at)
      values ('r1', 't1', 'm1', 'i1', 'c1', 'u1', 'sent', 'Re: 請求書', '本文', 'a@example.jp', 'support@example.jp', 'ours@x', 'theirs@y',
        '["theirs@y"]', 1, ${now}, 'k1', ${now}, ${now})`.execute(db);
    await migrateToLatest(database.handle);
    const rows = await sql<Record<string, unknown>>`select * from mail_replies`.execute(db);
    expect(rows.rows).toEqual([
      expect.objectContaining({ id: 'r1', mail_id: 'm1', call_key: null, state: 'sent', in_reply_to: 'theirs@y', references_ids: '["theirs@y"]', contact_id: 'k1', attempts: 1 }),
    ]);
    await expect(sql`update mail_replies set mail_id = null where id = 'r1'`.execute(db)).rejects.toThrow(/CHECK/);
    const indexes = await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'mail_replies' and name not like 'sqlite_%' order by name`.execute(db);
    // The rebuilt table keeps every index it had (later migrations may add more, e.g. 027's report indexes).
    expect(indexes.rows.map((row) => row.name)).toEqual(
      expect.arrayContaining(['mail_replies_author', 'mail_replies_call', 'mail_replies_mail', 'mail_replies_message_id', 'mail_replies_tenant_state']),
    );
  });
});
