import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../testing/fixtures.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../testing/harness.js';
import { appendChanges, currentSeq, sequenceAllCommitted, sequenceCommitted, writeTransaction, type ChangeEntry, type SequencingLog } from './changelog.js';
import { createChangeFeed, type ChangeFeed } from './feed.js';

const quiet = { warn: () => undefined, info: () => undefined };

/**
 * The change log hands out sequences in commit order with no gaps (sync/changelog.ts). On
 * PostgreSQL a sequencing run numbers entries after their transactions commit (migration 031),
 * so these check what the sync feed relies on: a transaction's entries in the order it recorded
 * them, one poke per transaction with its last sequence, and a transaction that commits later
 * holding the later sequences even if it wrote its entry first.
 */
describe.each(DIALECTS)('change log sequences on %s', (dialect) => {
  let database: TestDatabase;
  let feed: ChangeFeed;
  let tenantId: string;
  const pokes: number[] = [];
  const waiters: { seq: number; resolve: () => void }[] = [];

  beforeAll(async () => {
    database = await openTestDatabase(dialect);
    tenantId = (await createTenant(database.handle, { slug: `seq-${dialect}`, name: 'Sequences' })).id;
    feed = createChangeFeed(database.handle, quiet);
    await feed.start();
    feed.subscribe(tenantId, (seq) => {
      pokes.push(seq);
      for (const waiter of waiters.filter((each) => seq >= each.seq)) waiter.resolve();
    });
  });
  afterAll(async () => {
    await feed?.close();
    await database?.dispose();
  });

  const poked = (seq: number) => new Promise<void>((resolve) => (pokes.some((each) => each >= seq) ? resolve() : waiters.push({ seq, resolve })));

  async function entriesAfter(after: number): Promise<{ seq: number; entity_id: string }[]> {
    const rows = await database.handle.db
      .selectFrom('change_log')
      .select(['seq', 'entity_id'])
      .where('tenant_id', '=', tenantId)
      .where('seq', '>', after)
      .orderBy('seq')
      .execute();
    return rows.map((row) => ({ seq: Number(row.seq), entity_id: row.entity_id }));
  }

  it("gives a transaction's entries the next sequences in the order recorded, and pokes once with the last", async () => {
    const before = await currentSeq(database.handle, tenantId);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    pokes.length = 0;
    await writeTransaction(database.handle, async (tx) => {
      for (const id of ids) await tx.recordChange({ tenantId, entity: 'contact', entityId: id, customerId: null, op: 'upsert' });
    });
    expect(await entriesAfter(before)).toEqual(ids.map((id, index) => ({ seq: before + index + 1, entity_id: id })));
    expect(await currentSeq(database.handle, tenantId)).toBe(before + ids.length);
    await poked(before + ids.length);
    expect(pokes).toEqual([before + ids.length]);
  });

  it('records nothing of a transaction that rolls back', async () => {
    const before = await currentSeq(database.handle, tenantId);
    const failing = writeTransaction(database.handle, async (tx) => {
      await tx.recordChange({ tenantId, entity: 'contact', entityId: randomUUID(), customerId: null, op: 'upsert' });
      throw new Error('rolled back');
    });
    await expect(failing).rejects.toThrow('rolled back');
    expect(await currentSeq(database.handle, tenantId)).toBe(before);
    expect(await entriesAfter(before)).toEqual([]);
  });

  // SQLite runs one write transaction at a time: the second could not start while the first waits.
  it.runIf(dialect === 'postgres')('gives the transaction that commits first the lower sequence, whichever recorded first', async () => {
    const before = await currentSeq(database.handle, tenantId);
    const [late, early] = [randomUUID(), randomUUID()];
    let recorded!: () => void;
    const lateRecorded = new Promise<void>((resolve) => (recorded = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const lateTransaction = writeTransaction(database.handle, async (tx) => {
      await tx.recordChange({ tenantId, entity: 'contact', entityId: late, customerId: null, op: 'upsert' });
      // A statement of its own, so the transaction has really begun before the other one runs.
      await tx.trx.selectFrom('tenants').select('id').where('id', '=', tenantId).execute();
      recorded();
      await released;
    });
    await lateRecorded;
    await writeTransaction(database.handle, async (tx) => {
      await tx.recordChange({ tenantId, entity: 'contact', entityId: early, customerId: null, op: 'upsert' });
    });
    release();
    await lateTransaction;
    expect(await entriesAfter(before)).toEqual([
      { seq: before + 1, entity_id: early },
      { seq: before + 2, entity_id: late },
    ]);
  });

  const contactChange = (entityId: string): ChangeEntry => ({ tenantId, entity: 'contact', entityId, customerId: null, op: 'upsert' });

  // The trap of concurrent writers: an entry written by a transaction that is still open when a
  // reader passes a later entry. Numbered at insert (a database sequence), it would sit below the
  // reader's cursor once it commits, and the reader would never see it.
  it.runIf(dialect === 'postgres')('numbers an entry written before a later one but committed after it above the cursor a reader already holds', async () => {
    const before = await currentSeq(database.handle, tenantId);
    const [late, early] = [randomUUID(), randomUUID()];
    let written!: () => void;
    const lateWritten = new Promise<void>((resolve) => (written = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const lateTransaction = database.handle.db.transaction().execute(async (trx) => {
      await appendChanges(trx, dialect, tenantId, [contactChange(late)]);
      written();
      await released;
    });
    await lateWritten;
    await writeTransaction(database.handle, (tx) => tx.recordChange(contactChange(early)));
    const firstRead = await entriesAfter(before);
    expect(firstRead.map((entry) => entry.entity_id)).toEqual([early]);
    const cursor = firstRead[firstRead.length - 1]!.seq;
    release();
    await lateTransaction;
    await sequenceCommitted(database.handle, tenantId);
    expect(await entriesAfter(cursor)).toEqual([{ seq: cursor + 1, entity_id: late }]);
  });

  it.runIf(dialect === 'postgres')('numbers entries committed by a backend that stopped before numbering them when one starts, and pokes', async () => {
    const before = await currentSeq(database.handle, tenantId);
    const ids = [randomUUID(), randomUUID()];
    await database.handle.db.transaction().execute((trx) => appendChanges(trx, dialect, tenantId, ids.map(contactChange)));
    expect(await entriesAfter(before)).toEqual([]);
    await sequenceAllCommitted(database.handle);
    expect(await entriesAfter(before)).toEqual(ids.map((id, index) => ({ seq: before + index + 1, entity_id: id })));
    await poked(before + ids.length);
  });

  // A writer that commits while a run waits for the tenant's lock is numbered by that run (which
  // reads the log once it holds the lock): it answers then, without a run of its own.
  it.runIf(dialect === 'postgres')('answers a writer whose entry the run under way numbered without another run', async () => {
    if (database.handle.dialect !== 'postgres') return;
    const runs: string[] = [];
    const base = database.handle;
    const counting = { ...base, prepared: <R>(query: Parameters<typeof base.prepared>[0]) => (runs.push(query.sql), base.prepared<R>(query)) } as typeof base;
    const before = await currentSeq(base, tenantId);
    const [first, second] = [randomUUID(), randomUUID()];
    let locked!: () => void;
    const lockHeld = new Promise<void>((resolve) => (locked = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const holder = base.db.transaction().execute(async (trx) => {
      await sql`select 1 from tenants where id = ${tenantId} for update`.execute(trx);
      locked();
      await released;
    });
    await lockHeld;
    const commit = async (id: string) => (await base.db.transaction().execute((trx) => appendChanges(trx, dialect, tenantId, [contactChange(id)]))).placeholders;
    const firstWriter = sequenceCommitted(counting, tenantId, await commit(first));
    expect(runs).toHaveLength(1);
    // Committed while the run under way waits for the lock, before it reads the log.
    const secondWriter = sequenceCommitted(counting, tenantId, await commit(second));
    release();
    await holder;
    await Promise.all([firstWriter, secondWriter]);
    expect(await entriesAfter(before)).toEqual([
      { seq: before + 1, entity_id: first },
      { seq: before + 2, entity_id: second },
    ]);
    expect(runs).toHaveLength(1);
  });

  // A run fails after the writer committed (here a trigger makes its bump of last_seq fail once):
  // the note is stored, so the writer is answered, and a retry numbers the entry and pokes.
  it.runIf(dialect === 'postgres')('answers a writer whose sequencing run failed after its commit, and numbers its entry by a retry', async () => {
    const warnings: object[] = [];
    const log: SequencingLog = { warn: (details) => warnings.push(details), error: (details) => warnings.push(details) };
    await sequenceAllCommitted(database.handle, log);
    const before = await currentSeq(database.handle, tenantId);
    const db = database.handle.db;
    await sql`create sequence sequencing_attempts`.execute(db);
    await sql`
      create function fail_first_sequencing() returns trigger language plpgsql as $$
      begin
        if nextval('sequencing_attempts') = 1 then
          raise exception 'injected sequencing failure';
        end if;
        return new;
      end $$`.execute(db);
    await sql`create trigger fail_first_sequencing before update of last_seq on tenants for each row execute function fail_first_sequencing()`.execute(db);
    try {
      const id = randomUUID();
      await writeTransaction(database.handle, (tx) => tx.recordChange(contactChange(id)));
      await poked(before + 1);
      expect(await entriesAfter(before)).toEqual([{ seq: before + 1, entity_id: id }]);
      expect(warnings).toEqual([expect.objectContaining({ tenantId, attempt: 1, err: 'injected sequencing failure' })]);
    } finally {
      await sql`drop trigger fail_first_sequencing on tenants`.execute(db);
      await sql`drop function fail_first_sequencing()`.execute(db);
      await sql`drop sequence sequencing_attempts`.execute(db);
    }
  });
});
