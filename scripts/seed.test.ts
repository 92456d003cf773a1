import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '../test/support/postgres.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-seed-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `npm run seed -- …` as the README does, in a real child process. */
function seed(...args: string[]) {
  return seedWith({}, ...args);
}

function seedWith(env: Record<string, string>, ...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', ...args], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: { ...process.env, DATABASE_URL: '', TSUNAGU_ARGON2_MEMORY_KIB: '1024', TSUNAGU_ARGON2_TIME_COST: '1', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, out: result.stdout, err: result.stderr };
}

describe('npm run seed', () => {
  const file = path.join(dir, 'backend.db');

  it('seeds a SQLite backend and prints the demo logins', () => {
    const run = seed('--customers', '40', '--seed', '3', '--db', file);
    expect(run.err).toBe('');
    expect(run.status).toBe(0);
    expect(run.out).toMatch(/demo\s+agent1\s+agent1-pass/);
    expect(run.out).toMatch(/demo\s+rep-shibuya\s+\S+\s+rep-shibuya\.demo\s+\(agent, 渋谷支店\)/);
    expect(run.out).toMatch(/other\s+agent1\s+\S+\s+agent1\.other\s+\(agent\)/);
    const db = new SQLite(file, { readonly: true });
    try {
      const row = db.prepare("select count(*) as n from customers c join tenants t on t.id = c.tenant_id where t.slug = 'demo'").get() as { n: number };
      expect(row.n).toBe(40);
      // The demo recording: a real file beside the database, its hash as stored, a pause in its timeline.
      expect(run.out).toMatch(/A recorded call \(with a pause\) on customer C\d+/);
      const recording = db.prepare('select id, file_name, sha256, size_bytes, call_id from recordings').get() as { file_name: string; sha256: string; size_bytes: number; call_id: string };
      const audio = fs.readFileSync(path.join(dir, 'recordings', recording.file_name));
      expect(audio.length).toBe(recording.size_bytes);
      expect(createHash('sha256').update(audio).digest('hex')).toBe(recording.sha256);
      expect(audio.subarray(0, 4).toString('latin1')).toBe('OggS');
      const marks = db.prepare('select action from recording_marks where call_id = ? order by at').all(recording.call_id) as { action: string }[];
      expect(marks.map((m) => m.action)).toEqual(['pause', 'resume']);
    } finally {
      db.close();
    }
  });

  it('refuses to seed the same database twice unless told to reset it', () => {
    const again = seed('--customers', '5', '--db', file);
    expect(again.status).toBe(1);
    expect(again.err).toMatch(/Tenant "demo" already exists.*--reset/);
    const reset = seed('--customers', '5', '--db', file, '--reset');
    expect(reset.status).toBe(0);
    expect(reset.out).toMatch(/Tenant "demo": 5 customers/);
  });

  it('names the bad option', () => {
    const bad = seed('--customers', 'many');
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/--customers must be an integer/);
    const both = seed('--db', file, '--cache', path.join(dir, 'c.db'));
    expect(both.status).toBe(1);
    expect(both.err).toMatch(/--db and --cache exclude each other/);
  });
});

describe('npm run seed with DATABASE_URL', () => {
  it('seeds PostgreSQL, and --reset drops the tables before seeding again', async () => {
    const database = await createTestDatabase(inject('pgUrl'));
    try {
      // Without a SQLite file to sit beside, recordings default to ./recordings: the demo recording goes here instead.
      const env = { DATABASE_URL: database.url, TSUNAGU_RECORDINGS_DIR: path.join(dir, 'pg-recordings') };
      expect(seedWith(env, '--customers', '30').status).toBe(0);
      const reset = seedWith(env, '--customers', '12', '--reset');
      expect(reset.err).toBe('');
      expect(reset.status).toBe(0);
      expect(reset.out).toMatch(/^Seeding PostgreSQL /m);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const rows = await client.query<{ slug: string; n: string }>(
          'select t.slug, count(c.id) as n from tenants t left join customers c on c.tenant_id = t.id group by t.slug order by t.slug',
        );
        expect(rows.rows.map((r) => [r.slug, Number(r.n)])).toEqual([
          ['demo', 12],
          ['other', 25],
        ]);
      } finally {
        await client.end();
      }
    } finally {
      await database.drop();
    }
  });
});
