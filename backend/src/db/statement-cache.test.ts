import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cachingStatements } from './database.js';

describe('the SQLite connection keeps its prepared statements', () => {
  let sqlite: SQLite.Database | undefined;
  afterEach(() => sqlite?.close());

  const open = () => {
    sqlite = new SQLite(':memory:');
    sqlite.exec('create table t (n integer)');
    sqlite.prepare('insert into t values (1), (2), (3)').run();
    return sqlite;
  };

  it('gives the same statement for the same SQL, and a fresh one while that one is being iterated', () => {
    const statements = cachingStatements(open());
    const first = statements.prepare('select n from t order by n');
    expect(statements.prepare('select n from t order by n')).toBe(first);
    const rows = first.iterate();
    expect((rows.next().value as { n: number }).n).toBe(1);
    const during = statements.prepare('select n from t order by n');
    expect(during).not.toBe(first);
    expect(during.all()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect([...rows].map((row) => (row as { n: number }).n)).toEqual([2, 3]);
    expect(statements.prepare('select n from t order by n')).toBe(first);
  });

  it('keeps at most its size, dropping the least recently used', () => {
    const statements = cachingStatements(open(), 2);
    const a = statements.prepare('select 1');
    const b = statements.prepare('select 2');
    expect(statements.prepare('select 1')).toBe(a);
    statements.prepare('select 3');
    expect(statements.prepare('select 1')).toBe(a);
    expect(statements.prepare('select 2')).not.toBe(b);
  });

  it('sees schema changes made after a statement was prepared', () => {
    const statements = cachingStatements(open());
    expect(statements.prepare('select * from t where n = 1').all()).toEqual([{ n: 1 }]);
    sqlite!.exec('alter table t add column label text');
    expect(statements.prepare('select * from t where n = 1').all()).toEqual([{ n: 1, label: null }]);
  });
});
