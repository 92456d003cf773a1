import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../testing/harness.js';
import { binaryCopyRow, copyOutRow, inlineParameters } from './postgres-copy.js';

describe('binary COPY of one row (PostgreSQL)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase('postgres');
  });
  afterAll(async () => {
    await database.dispose();
  });

  it('gives each column\'s text as its UTF-8 bytes, parameters written as literals that keep every character', async () => {
    const awkward = `O'Brien \\ "quoted" $1 -- 田中 🎌 \n\t end`;
    const query = sql<unknown>`select ${awkward}::text as a, ${42}::int::text as b, null::text as c, ${'x'}::text || repeat('y', 70000) as d`.compile(database.handle.db);
    const fields = await database.handle.db.transaction().execute((trx) => copyOutRow(trx, query));
    expect(fields).toHaveLength(4);
    expect(fields[0]?.toString('utf8')).toBe(awkward);
    expect(fields[1]?.toString('utf8')).toBe('42');
    expect(fields[2]).toBeNull();
    expect(fields[3]?.toString('utf8')).toBe(`x${'y'.repeat(70000)}`);
  });

  it('leaves the connection usable after a COPY that fails', async () => {
    const failing = sql<unknown>`select (1 / ${0})::text`.compile(database.handle.db);
    await expect(database.handle.db.transaction().execute((trx) => copyOutRow(trx, failing))).rejects.toThrow(/division by zero/);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(database.handle.db);
    expect(rows[0]?.one).toBe(1);
  });

  it('refuses a parameter it cannot write as a literal, naming it', () => {
    expect(() => inlineParameters(CompiledQuery.raw('select $1, $2', ['a', { b: 1 }]))).toThrow(/parameter \$2/);
    expect(() => inlineParameters(CompiledQuery.raw('select $1', [Number.NaN]))).toThrow(/parameter \$1/);
    expect(() => inlineParameters(CompiledQuery.raw('select $1', ['a\0b']))).toThrow(/parameter \$1: a NUL/);
    expect(() => inlineParameters(CompiledQuery.raw('select $2', ['a']))).toThrow(/placeholder \$2/);
  });

  it('refuses output that is not one row of binary COPY', () => {
    expect(() => binaryCopyRow(Buffer.from('1\t2\n'))).toThrow(/signature/);
  });
});
