import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { API } from '../../shared/api.js';
import { createTestDatabase } from '../../test/support/postgres.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { DIALECTS } from './testing/harness.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO = path.resolve(path.dirname(MAIN), '../..');

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startMain(env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: REPO,
    env: { PATH: process.env.PATH, TSUNAGU_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Resolves with the first match of `pattern` in the output, or rejects when the process exits first. */
function waitForOutput(started: Started, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = started.output().match(pattern);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const onExit = () => {
      cleanup();
      const match = started.output().match(pattern);
      if (match) resolve(match);
      else reject(new Error(`backend exited before printing ${pattern}:\n${started.output()}`));
    };
    const cleanup = () => {
      started.child.stdout?.off('data', check);
      started.child.stderr?.off('data', check);
      started.child.off('exit', onExit);
    };
    started.child.stdout?.on('data', check);
    started.child.stderr?.on('data', check);
    started.child.once('exit', onExit);
    check();
  });
}

describe('backend main', () => {
  let dir: string | undefined;
  let running: Started | undefined;
  afterEach(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    running = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it.each(DIALECTS)('migrates %s, prints its URL, answers, and stops cleanly on SIGTERM', async (dialect) => {
    let database: { url: string; drop(): Promise<void> } | undefined;
    const env: NodeJS.ProcessEnv = { TSUNAGU_BACKEND_PORT: '0' };
    if (dialect === 'sqlite') {
      dir = await mkdtemp(path.join(tmpdir(), 'tsunagu-main-'));
      env.TSUNAGU_DB_PATH = path.join(dir, 'backend.db');
    } else {
      database = await createTestDatabase(inject('pgUrl'));
      env.DATABASE_URL = database.url;
    }
    try {
      running = startMain(env);
      const [, url] = await waitForOutput(running, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      expect(running.output()).toContain(dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL');
      const health = await fetch(`${url}${API.health}`);
      expect(health.status).toBe(200);
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    } finally {
      await database?.drop();
    }
  });

  it('refuses a database migrated by a newer backend, with a clear message', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tsunagu-main-'));
    const file = path.join(dir, 'backend.db');
    const handle = await openDatabase({ database: { kind: 'sqlite', path: file } });
    await migrateToLatest(handle);
    await sql`insert into kysely_migration (name, timestamp) values ('999_from_the_future', ${new Date().toISOString()})`.execute(handle.db);
    await handle.close();

    running = startMain({ TSUNAGU_BACKEND_PORT: '0', TSUNAGU_DB_PATH: file });
    expect(await running.exited).toBe(1);
    expect(running.output()).toMatch(/newer Tsunagu backend.*999_from_the_future/);
  });

  it('names a bad setting and exits', async () => {
    running = startMain({ TSUNAGU_BACKEND_PORT: 'eighty' });
    expect(await running.exited).toBe(1);
    expect(running.output()).toContain('TSUNAGU_BACKEND_PORT');
  });
});
