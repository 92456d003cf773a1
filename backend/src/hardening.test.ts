import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ApiErrorBody, LoginResponse } from '../../shared/api.js';
import { BODY_LIMITS, buildApp } from './app.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { hashToken } from './auth/sessions.js';
import { DIALECTS, startTestBackend, type TestBackend } from './testing/harness.js';
import { ctiTokenSha256 } from './telephony/cti-access.js';

const mode = (file: string) => statSync(file).mode & 0o777;

describe('backend SQLite file', () => {
  it('is created 0600 with its -wal and -shm, and an existing 0644 file is tightened', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tsunagu-perm-'));
    try {
      const file = path.join(dir, 'nested', 'backend.db');
      const handle = await openDatabase(loadConfig({ TSUNAGU_DB_PATH: file }));
      await migrateToLatest(handle);
      for (const each of [file, `${file}-wal`, `${file}-shm`]) expect(mode(each), each).toBe(0o600);
      expect(mode(path.dirname(file))).toBe(0o700);
      await handle.close();

      const old = path.join(dir, 'old.db');
      await writeFile(old, '', { mode: 0o644 });
      await writeFile(`${old}-wal`, '', { mode: 0o644 });
      const reopened = await openDatabase(loadConfig({ TSUNAGU_DB_PATH: old }));
      expect(mode(old)).toBe(0o600);
      expect(mode(`${old}-wal`)).toBe(0o600);
      await reopened.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('session idle timeout setting', () => {
  it('defaults to 60 minutes and names a bad value', () => {
    expect(loadConfig({}).sessionIdleMinutes).toBe(60);
    expect(loadConfig({ TSUNAGU_SESSION_IDLE_MINUTES: '15' }).sessionIdleMinutes).toBe(15);
    expect(() => loadConfig({ TSUNAGU_SESSION_IDLE_MINUTES: '0' })).toThrow(/TSUNAGU_SESSION_IDLE_MINUTES/);
  });
});

describe.each(DIALECTS)('hardening on %s', (dialect) => {
  let backend: TestBackend;
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
  });
  afterAll(() => backend?.dispose());

  const errorOf = (response: { json(): unknown }) => ApiErrorBody.parse(response.json()).error;

  it('ends a session unused for longer than the idle timeout, within its lifetime', async () => {
    const token = await backend.login('agent');
    const tokenHash = hashToken(token);
    const idleMinutes = backend.config.sessionIdleMinutes;
    const longAgo = new Date(Date.now() - (idleMinutes + 1) * 60_000).toISOString();
    await backend.handle.db.updateTable('sessions').set({ last_used_at: longAgo }).where('token_hash', '=', tokenHash).execute();
    const response = await backend.get(API.me, token);
    expect(response.statusCode).toBe(401);
    expect(errorOf(response).code).toBe('unauthenticated');
    expect(await backend.handle.db.selectFrom('sessions').select('token_hash').where('token_hash', '=', tokenHash).executeTakeFirst()).toBeUndefined();
  });

  it('keeps a session in use alive, and marks its use', async () => {
    const token = await backend.login('agent');
    const tokenHash = hashToken(token);
    const recently = new Date(Date.now() - (backend.config.sessionIdleMinutes - 1) * 60_000).toISOString();
    await backend.handle.db.updateTable('sessions').set({ last_used_at: recently }).where('token_hash', '=', tokenHash).execute();
    expect((await backend.get(API.me, token)).statusCode).toBe(200);
    const row = await backend.handle.db.selectFrom('sessions').select('last_used_at').where('token_hash', '=', tokenHash).executeTakeFirstOrThrow();
    expect(row.last_used_at! > recently).toBe(true);
  });

  it('refuses an oversized login body with 413 before parsing it, and counts no attempt', async () => {
    // Not JSON at all: a parser would answer 400, so 413 shows the size was judged first.
    const oversized = `{"tenant":"demo","login":"agent","password":"${'x'.repeat(BODY_LIMITS.login)}`;
    const response = await backend.app.inject({
      method: 'POST',
      url: API.login,
      payload: oversized,
      headers: { 'content-type': 'application/json' },
      remoteAddress: '192.0.2.200',
    });
    expect(response.statusCode).toBe(413);
    const rows = await backend.handle.db.selectFrom('login_throttle').select('key').where('key', 'like', '%192.0.2.200%').execute();
    expect(rows).toEqual([]);
    const normal = await backend.send('POST', API.login, { tenant: 'demo', login: 'agent', password: backend.demo.password });
    expect(LoginResponse.parse(normal.json()).user.login).toBe('agent');
  });

  it('gives the CTI routes a small limit, and authenticated routes no more than the default', async () => {
    const ctiToken = 'cti-token-for-the-body-limit-test';
    const ctiApp = buildApp({ db: backend.handle, config: { ...backend.config, telephony: { ...backend.config.telephony, ctiPbxes: [{ id: 'body-limit-pbx', tenants: ['demo'], tokenSha256: ctiTokenSha256(ctiToken) }] } } });
    try {
      const cti = await ctiApp.inject({
        method: 'POST',
        url: '/api/cti/events',
        payload: JSON.stringify({ padding: 'x'.repeat(BODY_LIMITS.cti) }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ctiToken}` },
      });
      expect(cti.statusCode).toBe(413);
    } finally {
      await ctiApp.close();
    }
    const token = await backend.login('agent');
    const note = await backend.app.inject({
      method: 'POST',
      url: '/api/calls/events',
      payload: JSON.stringify({ padding: 'x'.repeat(BODY_LIMITS.default) }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    });
    expect(note.statusCode).toBe(413);
    expect(BODY_LIMITS.syncPush).toBeGreaterThan(BODY_LIMITS.default);
    expect(BODY_LIMITS.login).toBeLessThanOrEqual(4096);
  });

  it('still takes a large sync push', async () => {
    const token = await backend.login('agent');
    const incident = await backend.handle.db.selectFrom('incidents').select('id').where('customer_id', '=', backend.demo.customers.yamada.id).executeTakeFirstOrThrow();
    const entries = Array.from({ length: 20 }, (_, index) => ({
      clientId: randomUUID(),
      type: 'add_note' as const,
      incidentId: incident.id,
      body: `${index}: ${'長いメモ'.repeat(4_000)}`,
      createdAt: new Date().toISOString(),
    }));
    const body = JSON.stringify({ entries });
    expect(body.length).toBeGreaterThan(BODY_LIMITS.default);
    const response = await backend.app.inject({
      method: 'POST',
      url: API.syncPush,
      payload: body,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    });
    expect(response.statusCode, response.body).toBe(200);
  });
});
