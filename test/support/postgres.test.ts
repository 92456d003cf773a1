import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import setup, { PG_URL_ENV } from './pg-global-setup.js';
import { createTestDatabase, startPostgres, type RunningPostgres } from './postgres.js';

const CLUSTER_TIMEOUT_MS = 120_000;

async function queryOne<T>(url: string, sql: string, params: unknown[] = []): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(sql, params);
    return result.rows[0] as T;
  } finally {
    await client.end();
  }
}

async function postmasterPid(clusterDir: string): Promise<number> {
  const pidFile = await readFile(join(clusterDir, 'data', 'postmaster.pid'), 'utf8');
  return Number(pidFile.split('\n')[0]);
}

/** The postmaster and every process it forked (checkpointer, walwriter, backends…). */
async function clusterProcesses(postmaster: number): Promise<number[]> {
  const pids = [postmaster];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name in parentheses may contain spaces; the parent pid follows it.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === postmaster) pids.push(Number(entry));
  }
  return pids;
}

/** Zombies count as alive: the cluster's processes must also have been reaped. */
function isAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

describe('startPostgres', () => {
  it(
    'serves queries on loopback and stop() leaves no process or folder behind',
    async () => {
      const postgres = await startPostgres();
      let processes: number[] = [];
      try {
        const url = new URL(postgres.url);
        expect(url.protocol).toBe('postgres:');
        expect(url.hostname).toBe('127.0.0.1');

        const row = await queryOne<{ greeting: string; listen: string; fsync: string }>(
          postgres.url,
          "SELECT $1::text AS greeting, current_setting('listen_addresses') AS listen, current_setting('fsync') AS fsync",
          ['こんにちは'],
        );
        expect(row).toEqual({ greeting: 'こんにちは', listen: '127.0.0.1', fsync: 'off' });

        await queryOne(postgres.url, 'CREATE TABLE note (body text NOT NULL)');
        await queryOne(postgres.url, 'INSERT INTO note (body) VALUES ($1)', ['折り返し電話']);
        expect(await queryOne(postgres.url, 'SELECT body FROM note')).toEqual({ body: '折り返し電話' });

        processes = await clusterProcesses(await postmasterPid(postgres.clusterDir));
        // Background workers prove the child scan sees the cluster's processes at all.
        expect(processes.length).toBeGreaterThan(1);
        expect(processes.every(isAlive)).toBe(true);
      } finally {
        await postgres.stop();
      }

      expect(processes.filter(isAlive)).toEqual([]);
      expect(existsSync(postgres.clusterDir)).toBe(false);
      await postgres.stop();
    },
    CLUSTER_TIMEOUT_MS,
  );

  it.runIf(process.getuid?.() === 0)(
    'as root, fails with the initdb error and leaves nothing behind when the postgres user cannot reach the folder',
    async () => {
      const parent = await mkdtemp(join(tmpdir(), 'tsunagu-pg-private-'));
      try {
        await chmod(parent, 0o700);
        await expect(startPostgres({ dir: parent })).rejects.toThrow(/initdb .*failed:[\s\S]*(permission denied|could not)/i);
        expect(await readdir(parent)).toEqual([]);
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    },
    CLUSTER_TIMEOUT_MS,
  );
});

describe('createTestDatabase', () => {
  let postgres: RunningPostgres;

  beforeAll(async () => {
    postgres = await startPostgres();
  }, CLUSTER_TIMEOUT_MS);

  afterAll(async () => {
    await postgres?.stop();
  }, CLUSTER_TIMEOUT_MS);

  it('gives each caller its own database and drops it even with a client still connected', async () => {
    const first = await createTestDatabase(postgres.url);
    const second = await createTestDatabase(postgres.url);
    const nameOf = (url: string) => new URL(url).pathname.slice(1);
    expect(nameOf(first.url)).not.toBe(nameOf(second.url));

    await queryOne(first.url, 'CREATE TABLE only_in_first (id int)');
    const seen = await queryOne<{ table: string | null }>(second.url, "SELECT to_regclass('only_in_first')::text AS table");
    expect(seen.table).toBeNull();

    const lingering = new pg.Client({ connectionString: first.url });
    await lingering.connect();
    // The forced drop ends this connection; swallow the resulting socket error.
    lingering.on('error', () => {});
    await first.drop();
    await second.drop();

    const remaining = await queryOne<{ count: string }>(
      postgres.url,
      'SELECT count(*) AS count FROM pg_database WHERE datname = ANY($1)',
      [[nameOf(first.url), nameOf(second.url)]],
    );
    expect(remaining.count).toBe('0');
  });

  it('names the field when the base URL is not a postgres URL', async () => {
    await expect(createTestDatabase('not a url')).rejects.toThrow(/^baseUrl: /);
    await expect(createTestDatabase('mysql://127.0.0.1/x')).rejects.toThrow(/^baseUrl: .*mysql:/);
  });
});

describe('pg-global-setup', () => {
  it(
    'provides a working URL to the project and stops the cluster on teardown',
    async () => {
      const provided = new Map<string, unknown>();
      // setup() only calls provide(); recording it stands in for vitest's project.
      const project = { provide: (key: string, value: unknown) => provided.set(key, value) } as unknown as TestProject;
      const previousEnv = process.env[PG_URL_ENV];
      const teardown = await setup(project);
      const pgUrl = provided.get('pgUrl') as string;
      try {
        expect(process.env[PG_URL_ENV]).toBe(pgUrl);
        const database = await createTestDatabase(pgUrl);
        expect(await queryOne(database.url, 'SELECT 1 + 1 AS two')).toEqual({ two: 2 });
        await database.drop();
      } finally {
        await teardown();
        if (previousEnv !== undefined) process.env[PG_URL_ENV] = previousEnv;
      }
      await expect(queryOne(pgUrl, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    },
    CLUSTER_TIMEOUT_MS,
  );
});
