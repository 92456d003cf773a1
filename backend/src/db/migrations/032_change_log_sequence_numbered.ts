import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from '../database.js';

// PostgreSQL: a sequencing run (migration 031) answers the placeholders it numbered, so a writer
// that committed while a run was under way learns whether that run already took its entries and
// then answers at once instead of waiting for one more run (sync/changelog.ts). The body is
// 031's; only what it returns changed (an older instance ignores the result).
// Important: append-only like every migration; change the schema in a new numbered file.
export async function up(db: Kysely<unknown>, dialect: SqlDialect): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`drop function change_log_sequence(text)`.execute(db);
  await sql`
    create function change_log_sequence(tenant text) returns bigint[] language plpgsql as $$
    declare
      last_assigned bigint;
      placeholders bigint[];
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
        returning c.seq, pending.placeholder
      )
      select max(seq), array_agg(placeholder) into last_assigned, placeholders from numbered;
      if last_assigned is not null then
        perform pg_notify('tsunagu_changes', json_build_object('tenantId', tenant, 'seq', last_assigned)::text);
      end if;
      return coalesce(placeholders, '{}');
    end
    $$`.execute(db);
}
