import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodedError } from '../../../shared/result.js';
import type { CacheMigration } from './migrations/index.js';
import { CACHE_SCHEMA_VERSION, openCache } from './open-cache.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-cache-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function fileHash(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('openCache', () => {
  it('creates a cache at the current schema version in WAL mode with foreign keys on', () => {
    const file = path.join(dir, 'tenant', 'user', 'cache.db');
    const db = openCache(file);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(CACHE_SCHEMA_VERSION);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      const tables = db
        .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
        .pluck()
        .all() as string[];
      for (const table of ['customers', 'customer_phones', 'customer_emails', 'customer_tokens', 'customer_fts', 'incidents', 'contacts', 'meta', 'outbox']) {
        expect(tables).toContain(table);
      }
    } finally {
      db.close();
    }
  });

  it('runs each migration once, in order, each in its own transaction', () => {
    const file = path.join(dir, 'cache.db');
    const first: CacheMigration = { version: 1, name: 'first', up: 'CREATE TABLE a (x INTEGER);' };
    const broken: CacheMigration = {
      version: 2,
      name: 'broken',
      up: 'CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (1); THIS IS NOT SQL;',
    };
    expect(() => openCache(file, { migrations: [first, broken] })).toThrow(/syntax error/);

    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(1);
    expect(raw.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'b'`).pluck().get()).toBe(0);
    expect(raw.prepare('SELECT count(*) FROM a').pluck().get()).toBe(0);
    raw.close();

    const fixed: CacheMigration = { version: 2, name: 'fixed', up: 'INSERT INTO a VALUES (2);' };
    const db = openCache(file, { migrations: [first, fixed] });
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    db.close();
    // Reopening runs nothing again: the row inserted by migration 2 is still alone.
    const again = openCache(file, { migrations: [first, fixed] });
    expect(again.prepare('SELECT x FROM a').pluck().all()).toEqual([2]);
    again.close();
  });

  it('refuses a cache written by a newer version and leaves the file untouched', () => {
    const file = path.join(dir, 'cache.db');
    const newer = new Database(file);
    newer.exec('CREATE TABLE future_things (x TEXT); INSERT INTO future_things VALUES (\'kept\');');
    newer.pragma(`user_version = ${CACHE_SCHEMA_VERSION + 5}`);
    newer.close();
    const before = fileHash(file);

    let caught: unknown;
    try {
      openCache(file);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CodedError);
    expect((caught as CodedError).code).toBe('cache_too_new');
    expect((caught as CodedError).message).toMatch(/newer version of Tsunagu/);

    expect(fileHash(file)).toBe(before);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(CACHE_SCHEMA_VERSION + 5);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(raw.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'customers'`).pluck().get()).toBe(0);
    raw.close();
  });

  it('rejects a migration list with a gap in its numbers', () => {
    const gap: CacheMigration[] = [
      { version: 1, name: 'one', up: 'SELECT 1;' },
      { version: 3, name: 'three', up: 'SELECT 1;' },
    ];
    expect(() => openCache(path.join(dir, 'cache.db'), { migrations: gap })).toThrow(/has number 3, expected 2/);
  });
});
