import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { inject } from 'vitest';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { API, LoginResponse, PushResponse } from '../../../shared/api.js';
import { buildApp, type AppOptions } from '../app.js';
import { loadConfig, type BackendConfig } from '../config.js';
import { openDatabase, type DatabaseHandle, type SqlDialect } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { createDemoTenant, type DemoTenant, type TenantSpec } from './fixtures.js';

/** Every backend suite runs once per dialect: `describe.each(DIALECTS)`. */
export const DIALECTS: SqlDialect[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  dialect: SqlDialect;
  handle: DatabaseHandle;
  config: BackendConfig;
  /** Closes the handle and removes the database (temp file, or PostgreSQL database). */
  dispose(): Promise<void>;
}

function pgBaseUrl(): string {
  const url = inject('pgUrl') ?? process.env.TSUNAGU_TEST_PG_URL;
  if (!url) throw new Error('no PostgreSQL for tests: run through vitest with test/support/pg-global-setup.ts');
  return url;
}

/**
 * A fresh, migrated database of the dialect, with settings that keep tests fast. `migrate`
 * replaces the migration to latest (a migration's test stops before it).
 */
export async function openTestDatabase(
  dialect: SqlDialect,
  options: { migrate?: (handle: DatabaseHandle) => Promise<unknown> } = {},
): Promise<TestDatabase> {
  const env: NodeJS.ProcessEnv = {
    TSUNAGU_BACKEND_PORT: '0',
    TSUNAGU_ARGON2_MEMORY_KIB: '256',
    TSUNAGU_ARGON2_TIME_COST: '1',
    TSUNAGU_LOG_LEVEL: 'silent',
  };
  let removeData: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsunagu-backend-'));
    env.TSUNAGU_DB_PATH = path.join(dir, 'backend.db');
    removeData = () => rm(dir, { recursive: true, force: true });
  } else {
    const database = await createTestDatabase(pgBaseUrl());
    const dir = await mkdtemp(path.join(tmpdir(), 'tsunagu-backend-'));
    env.DATABASE_URL = database.url;
    env.TSUNAGU_RECORDINGS_DIR = path.join(dir, 'recordings');
    removeData = async () => {
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const config = loadConfig(env);
  const handle = await openDatabase(config);
  await (options.migrate ?? migrateToLatest)(handle);
  return {
    dialect,
    handle,
    config,
    async dispose() {
      await handle.close();
      await removeData();
    },
  };
}

export interface TestBackend extends TestDatabase {
  app: FastifyInstance;
  demo: DemoTenant;
  /** Listens on 127.0.0.1 with a free port; returns the base URL. */
  listen(): Promise<string>;
  /** Logs in through the API; returns the bearer token. */
  login(login: string, options?: { password?: string; tenant?: string }): Promise<string>;
  get(url: string, token?: string): Promise<LightMyRequestResponse>;
  send(method: 'POST' | 'PATCH', url: string, body: unknown, token?: string): Promise<LightMyRequestResponse>;
  /** Pushes one new note as the app's outbox would; fails unless the push answered 200. Returns the note's result. */
  pushNote(token: string, incidentId: string, body: string): Promise<PushResponse['results'][number]>;
  /** Another app instance on the same database, as a second backend process would be. */
  secondInstance(): FastifyInstance;
}

/** A migrated database with the demo tenant, and the backend app on it (not listening). */
export async function startTestBackend(dialect: SqlDialect, tenant?: TenantSpec, appOptions: Pick<AppOptions, 'portal' | 'callme'> = {}): Promise<TestBackend> {
  const database = await openTestDatabase(dialect);
  const demo = await createDemoTenant(database.handle, database.config.argon2, tenant);
  const apps: FastifyInstance[] = [];
  const newApp = () => {
    const app = buildApp({ db: database.handle, config: database.config, ...appOptions });
    apps.push(app);
    return app;
  };
  const app = newApp();
  await app.ready();
  const auth = (token?: string) => (token ? { authorization: `Bearer ${token}` } : {});
  const send: TestBackend['send'] = (method, url, body, token) =>
    app.inject({
      method,
      url,
      // A string goes out as is, so tests can send malformed JSON.
      payload: typeof body === 'string' ? body : (body as object),
      headers: { 'content-type': 'application/json', ...auth(token) },
    });
  return {
    ...database,
    app,
    demo,
    async listen() {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      if (!address || typeof address === 'string') throw new Error('no TCP address');
      return `http://127.0.0.1:${address.port}`;
    },
    async login(login, options = {}) {
      const response = await app.inject({
        method: 'POST',
        url: API.login,
        payload: { tenant: options.tenant ?? demo.tenant.slug, login, password: options.password ?? demo.password },
      });
      if (response.statusCode !== 200) throw new Error(`login ${login} failed: ${response.statusCode} ${response.body}`);
      return LoginResponse.parse(response.json()).token;
    },
    get: (url, token) => app.inject({ method: 'GET', url, headers: auth(token) }),
    send,
    async pushNote(token, incidentId, body) {
      const entry = { type: 'add_note', clientId: randomUUID(), incidentId, body, createdAt: new Date().toISOString() };
      const response = await send('POST', API.syncPush, { entries: [entry] }, token);
      if (response.statusCode !== 200) throw new Error(`push of a note failed: ${response.statusCode} ${response.body}`);
      const result = PushResponse.parse(response.json()).results[0];
      if (!result) throw new Error('the push answered no result');
      return result;
    },
    secondInstance: newApp,
    async dispose() {
      for (const instance of apps) await instance.close();
      await database.dispose();
    },
  };
}
