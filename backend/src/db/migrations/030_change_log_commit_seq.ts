import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// PostgreSQL: a change-log entry takes its tenant's next sequence when its transaction commits,
// not when it is written (sync/changelog.ts). The entry is inserted with a placeholder sequence
// below zero, unique across transactions (change_log_pending_seq: the primary key would make a
// second transaction with the same placeholder wait for the first); a deferred constraint
// trigger, which PostgreSQL runs inside COMMIT, bumps tenants.last_seq, gives the entry that
// sequence and NOTIFYs once the transaction's last entry of that tenant has one. The tenant row's
// lock, which hands out sequences in commit order, is then held for the commit alone instead of
// from the first change to a COMMIT sent after another round trip from a busy backend
// (bench:agents: 96% of the active connections waited on it with 100 agents).
// SQLite serialises its writers already and keeps appending in the backend.
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`create sequence change_log_pending_seq`.execute(db);
  await sql`
    create function change_log_commit_seq() returns trigger language plpgsql as $$
    declare
      next_seq bigint;
    begin
      update tenants set last_seq = last_seq + 1 where id = new.tenant_id returning last_seq into next_seq;
      if not found then
        raise exception 'change log: unknown tenant %', new.tenant_id;
      end if;
      update change_log set seq = next_seq where tenant_id = new.tenant_id and seq = new.seq;
      -- One poke per transaction and tenant, with its last sequence: when no placeholder is left.
      if not exists (select 1 from change_log where tenant_id = new.tenant_id and seq < 0) then
        perform pg_notify('tsunagu_changes', json_build_object('tenantId', new.tenant_id, 'seq', next_seq)::text);
      end if;
      return null;
    end
    $$`.execute(db);
  await sql`
    create constraint trigger change_log_commit_seq after insert on change_log
    deferrable initially deferred
    for each row when (new.seq < 0)
    execute function change_log_commit_seq()`.execute(db);
}
