import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// PostgreSQL: change-log entries are given their sequences after their transaction commits, by a
// sequencing run (sync/changelog.ts), not inside each writer's COMMIT (migration 030). Migration
// 030's trigger bumped tenants.last_seq and sent a NOTIFY in every writer's commit: every writer
// of a tenant queued on that row's lock and on the database-wide lock PostgreSQL takes to queue
// NOTIFYs, and each bump left a row version behind. A writer now only inserts its entries with a
// placeholder sequence below zero and commits, touching no shared row; the run numbers every
// committed placeholder of the tenant in one statement, bumps last_seq once and NOTIFYs once for
// all the writers that committed since the previous run.
//
// Important: runs of one tenant take turns on its row's lock (FOR NO KEY UPDATE, which does not
// conflict with the key-share locks of foreign-key checks), and the numbering statement starts
// after the lock is held, so it sees every entry the previous run numbered: a batch's sequences
// are all above the previous batch's and become visible in one commit. A reader that has seen
// sequence N has seen every sequence below N; an entry still in an open transaction is invisible
// to the run and is numbered by a later one, above N.
// SQLite serialises its writers and keeps numbering in the writing transaction.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`drop trigger change_log_commit_seq on change_log`.execute(db);
  await sql`drop function change_log_commit_seq()`.execute(db);
  await sql`
    create function change_log_sequence(tenant text) returns bigint language plpgsql as $$
    declare
      last_assigned bigint;
    begin
      perform 1 from tenants where id = tenant for no key update;
      if not found then
        raise exception 'change log: unknown tenant %', tenant;
      end if;
      -- Placeholders are minus a sequence's values: in the order written, highest first.
      with pending as (
        select seq as placeholder, row_number() over (order by seq desc) as position, count(*) over () as total
        from change_log where tenant_id = tenant and seq < 0
      ), bumped as (
        update tenants set last_seq = last_seq + (select max(total) from pending)
        where id = tenant and exists (select 1 from pending)
        returning last_seq
      ), numbered as (
        update change_log c set seq = bumped.last_seq - pending.total + pending.position
        from pending, bumped
        where c.tenant_id = tenant and c.seq = pending.placeholder
        returning c.seq
      )
      select max(seq) into last_assigned from numbered;
      if last_assigned is not null then
        perform pg_notify('tsunagu_changes', json_build_object('tenantId', tenant, 'seq', last_assigned)::text);
      end if;
      return last_assigned;
    end
    $$`.execute(db);
}
