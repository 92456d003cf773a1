import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ApiErrorBody, LoginResponse, MeResponse } from '../../../shared/api.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { hashToken } from './sessions.js';

describe.each(DIALECTS)('auth on %s', (dialect) => {
  let backend: TestBackend;
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
  });
  afterAll(() => backend?.dispose());

  const login = (body: unknown) => backend.send('POST', API.login, body);
  const errorOf = (response: { json(): unknown }) => ApiErrorBody.parse(response.json()).error;

  it('logs in with the right password and stores only a hash of an opaque token', async () => {
    const response = await login({ tenant: 'demo', login: 'agent', password: backend.demo.password });
    expect(response.statusCode).toBe(200);
    const body = LoginResponse.parse(response.json());
    expect(body.user).toMatchObject({ login: 'agent', role: 'agent', customerLimitAuthority: 3 });
    expect(body.tenant).toEqual({ id: backend.demo.tenant.id, name: 'Demo Contact Center', defaultRegion: 'JP' });
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const sessions = await backend.handle.db.selectFrom('sessions').selectAll().where('user_id', '=', body.user.id).execute();
    expect(sessions.map((s) => s.token_hash)).toContain(hashToken(body.token));
    expect(JSON.stringify(sessions)).not.toContain(body.token);

    const me = await backend.get(API.me, body.token);
    expect(me.statusCode).toBe(200);
    expect(MeResponse.parse(me.json()).user.id).toBe(body.user.id);
  });

  it('hashes passwords with argon2id', async () => {
    const row = await backend.handle.db.selectFrom('users').select('password_hash').where('id', '=', backend.demo.users.agent.id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('answers a wrong password and an unknown user alike with 401, and audits the failure', async () => {
    const wrongPassword = await login({ tenant: 'demo', login: 'agent', password: 'not-the-password' });
    const unknownUser = await login({ tenant: 'demo', login: 'nobody', password: 'whatever' });
    const unknownTenant = await login({ tenant: 'no-such-tenant', login: 'agent', password: backend.demo.password });
    for (const response of [wrongPassword, unknownUser, unknownTenant]) {
      expect(response.statusCode).toBe(401);
      expect(errorOf(response)).toEqual(errorOf(wrongPassword));
    }
    expect(errorOf(wrongPassword).code).toBe('unauthenticated');

    const failures = await backend.handle.db
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant_id', '=', backend.demo.tenant.id)
      .where('action', '=', 'login_failed')
      .execute();
    expect(failures.map((f) => f.user_id)).toEqual(expect.arrayContaining([backend.demo.users.agent.id, null]));
    expect(failures.map((f) => f.details).join()).not.toContain('not-the-password');
  });

  it('refuses a disabled user', async () => {
    await backend.handle.db.updateTable('users').set({ disabled: 1 }).where('id', '=', backend.demo.users.osakaAgent.id).execute();
    try {
      expect((await login({ tenant: 'demo', login: 'osaka', password: backend.demo.password })).statusCode).toBe(401);
    } finally {
      await backend.handle.db.updateTable('users').set({ disabled: 0 }).where('id', '=', backend.demo.users.osakaAgent.id).execute();
    }
  });

  it('names the field of a malformed login', async () => {
    const missing = await login({ tenant: 'demo', password: 'x' });
    expect(missing.statusCode).toBe(400);
    expect(errorOf(missing)).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('body.login') });

    const malformed = await backend.send('POST', API.login, '{"tenant": "demo",');
    expect(malformed.statusCode).toBe(400);
    expect(errorOf(malformed)).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('body') });
  });

  it('requires a valid bearer token on every other route', async () => {
    for (const url of [API.me, API.customerSearch + '?q=yamada', API.syncChanges + '?after=0', API.syncSnapshot]) {
      const missing = await backend.get(url);
      expect(missing.statusCode, url).toBe(401);
      expect(errorOf(missing).code).toBe('unauthenticated');
      expect((await backend.get(url, 'made-up-token')).statusCode, url).toBe(401);
    }
    const health = await backend.get(API.health);
    expect(health.statusCode).toBe(200);
  });

  it('takes the token from the query only on the event stream', async () => {
    const token = await backend.login('agent');
    expect((await backend.get(`${API.me}?token=${token}`)).statusCode).toBe(401);
  });

  it('refuses an expired token', async () => {
    const token = await backend.login('agent');
    await backend.handle.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('token_hash', '=', hashToken(token))
      .execute();
    const response = await backend.get(API.me, token);
    expect(response.statusCode).toBe(401);
    expect(errorOf(response).code).toBe('unauthenticated');
  });

  it('ends the session on logout', async () => {
    const token = await backend.login('agent');
    const logout = await backend.send('POST', API.logout, {}, token);
    expect(logout.statusCode).toBe(204);
    expect((await backend.get(API.me, token)).statusCode).toBe(401);
    const count = await backend.handle.db.selectFrom('sessions').select('token_hash').where('token_hash', '=', hashToken(token)).execute();
    expect(count).toHaveLength(0);
  });

  it('answers unknown routes with 404 not_found', async () => {
    const response = await backend.get('/api/no-such-route');
    expect(response.statusCode).toBe(404);
    expect(errorOf(response).code).toBe('not_found');
  });
});
