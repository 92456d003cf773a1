import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API, LoginResponse, SearchResponse } from '../../../shared/api.js';
import { decodeSnapshotPage } from '../../../shared/snapshot-wire.js';
import { EXCHANGE_API, ExchangeExportList } from '../../../shared/exchange.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import { PORTAL_API, PortalPageList } from '../../../shared/portal.js';
import { DEMO_PORTAL_ACCOUNT } from '../portal/seed.js';
import { buildApp } from '../app.js';
import { loadConfig, type BackendConfig } from '../config.js';
import { openDatabase, type DatabaseHandle } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import {
  DEMO_USERS,
  OTHER_TENANT_CUSTOMERS,
  planTenant,
  SeedTargetNotEmptyError,
  seedBackend,
  type SeededTenant,
} from './seed-backend.js';

const CUSTOMERS = 200;
const SEED = 4242;
const NOW = new Date('2026-02-01T00:00:00Z');
// Cheap argon2 settings keep the suite fast; the hashes still verify, since each carries its parameters.
const TEST_ENV = { TSUNAGU_ARGON2_MEMORY_KIB: '1024', TSUNAGU_ARGON2_TIME_COST: '1', TSUNAGU_LOG_LEVEL: 'silent' };

interface Target {
  config: BackendConfig;
  cleanup(): Promise<void>;
}

const targets: Record<'sqlite' | 'postgres', () => Promise<Target>> = {
  sqlite: async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsunagu-seed-'));
    return {
      config: loadConfig({ ...TEST_ENV, TSUNAGU_DB_PATH: path.join(dir, 'backend.db') }),
      cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  },
  postgres: async () => {
    const database: TestDatabase = await createTestDatabase(inject('pgUrl'));
    return { config: loadConfig({ ...TEST_ENV, DATABASE_URL: database.url }), cleanup: () => database.drop() };
  },
};

describe.each(['sqlite', 'postgres'] as const)('seedBackend on %s', (dialect) => {
  let target: Target;
  let handle: DatabaseHandle;
  let app: FastifyInstance;
  let seeded: SeededTenant[];
  const progress: number[] = [];

  beforeAll(async () => {
    target = await targets[dialect]();
    handle = await openDatabase(target.config);
    await migrateToLatest(handle);
    seeded = await seedBackend({
      handle,
      argon2: target.config.argon2,
      customers: CUSTOMERS,
      seed: SEED,
      now: NOW,
      onProgress: (written) => progress.push(written),
    });
    app = buildApp({ db: handle, config: target.config });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await handle?.close();
    await target?.cleanup();
  });

  async function count(table: 'customers' | 'customer_phones' | 'customer_emails' | 'incidents' | 'contacts' | 'users', tenantId: string) {
    const row = await handle.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async function login(tenant: string, loginName: string, password: string) {
    return app.inject({ method: 'POST', url: API.login, payload: { tenant, login: loginName, password } });
  }

  it('stores exactly the generated demo tenant and the small other tenant', async () => {
    const [demo, other] = seeded;
    if (!demo || !other) throw new Error('seedBackend returned fewer than two tenants');
    const records = [...planTenant(DEMO_USERS, SEED, CUSTOMERS, NOW).generator.chunks(CUSTOMERS)].flat();
    const expected = {
      customers: records.length,
      customer_phones: records.reduce((n, r) => n + r.customer.phones.length, 0),
      customer_emails: records.reduce((n, r) => n + r.customer.emails.length, 0),
      incidents: records.reduce((n, r) => n + r.incidents.length, 0),
      contacts: records.reduce((n, r) => n + r.contacts.length, 0),
      users: DEMO_USERS.length,
    };
    expect(expected.contacts).toBeGreaterThan(CUSTOMERS * 4);
    for (const [table, n] of Object.entries(expected)) {
      expect(await count(table as keyof typeof expected, demo.id), table).toBe(n);
    }
    expect(await count('customers', other.id)).toBe(OTHER_TENANT_CUSTOMERS);
    expect(demo).toMatchObject({ customers: expected.customers, incidents: expected.incidents, contacts: expected.contacts });
    expect(progress.at(-1)).toBe(CUSTOMERS);

    const tenants = await handle.db.selectFrom('tenants').select(['slug', 'name', 'default_region', 'last_seq']).orderBy('slug').execute();
    expect(tenants.map((t) => ({ ...t, last_seq: Number(t.last_seq) }))).toEqual([
      { slug: 'demo', name: 'デモ株式会社', default_region: 'JP', last_seq: 0 },
      { slug: 'other', name: 'アザー商事株式会社', default_region: 'JP', last_seq: 0 },
    ]);
    const rep = await handle.db.selectFrom('users').selectAll().where('tenant_id', '=', demo.id).where('login', '=', 'rep-shibuya').executeTakeFirstOrThrow();
    expect(rep).toMatchObject({ branch: '渋谷支店', customer_limit_authority: 2, role: 'agent' });
    expect(rep.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('gives the demo partner one PII-stripped export shared with its organisation', async () => {
    const response = await login('demo', 'partner1', 'partner1-pass');
    expect(response.statusCode).toBe(200);
    const { token, user } = LoginResponse.parse(response.json());
    expect(user).toMatchObject({ role: 'partner', partnerOrg: '協力サポート株式会社' });
    const listed = await app.inject({ method: 'GET', url: EXCHANGE_API.exports, headers: { authorization: `Bearer ${token}` } });
    expect(listed.statusCode, listed.body).toBe(200);
    const { exports } = ExchangeExportList.parse(listed.json());
    expect(exports).toHaveLength(1);
    expect(exports[0]!.recordCount).toBeGreaterThan(0);
    const refused = await app.inject({ method: 'GET', url: `${API.customerSearch}?q=a`, headers: { authorization: `Bearer ${token}` } });
    expect(refused.statusCode).toBe(403);
  });

  it('lets a demo user log in and sync exactly the customers it may see', async () => {
    const response = await login('demo', 'agent1', 'agent1-pass');
    expect(response.statusCode).toBe(200);
    const session = LoginResponse.parse(response.json());
    expect(session.user).toMatchObject({ login: 'agent1', role: 'agent', customerLimitAuthority: 2 });

    const records = [...planTenant(DEMO_USERS, SEED, CUSTOMERS, NOW).generator.chunks(CUSTOMERS)].flat();
    const visible = records.filter((r) => maySeeCustomer(session.user, r.customer));
    expect(visible.length).toBeLessThan(records.length);

    const snapshot = await app.inject({
      method: 'GET',
      url: `${API.syncSnapshot}?limit=2000`,
      headers: { authorization: `Bearer ${session.token}` },
    });
    expect(snapshot.statusCode).toBe(200);
    const page = decodeSnapshotPage(snapshot.json());
    expect(page.total).toBe(visible.length);
    const byId = new Map(page.records.map((r) => [r.customer.id, r]));
    const sample = visible[0];
    if (!sample) throw new Error('no visible customer');
    const synced = byId.get(sample.customer.id);
    expect(synced?.customer).toMatchObject({ code: sample.customer.code, name: sample.customer.name, phones: sample.customer.phones });
    expect(synced?.contacts.length).toBe(sample.contacts.length);
  });

  it('keeps the tenants apart and refuses a wrong password', async () => {
    expect((await login('demo', 'agent1', 'other-agent1-pass')).statusCode).toBe(401);
    const demoCustomer = planTenant(DEMO_USERS, SEED, CUSTOMERS, NOW).generator.recordAt(0).customer;
    const searchAs = async (tenant: string, loginName: string, password: string) => {
      const response = await login(tenant, loginName, password);
      expect(response.statusCode).toBe(200);
      const session = LoginResponse.parse(response.json());
      const search = await app.inject({
        method: 'GET',
        url: `${API.customerSearch}?q=${encodeURIComponent(demoCustomer.name)}`,
        headers: { authorization: `Bearer ${session.token}` },
      });
      expect(search.statusCode).toBe(200);
      return SearchResponse.parse(search.json()).customers.map((c) => c.id);
    };
    expect(await searchAs('demo', 'admin', 'admin-pass')).toContain(demoCustomer.id);
    expect(await searchAs('other', 'admin', 'other-admin-pass')).not.toContain(demoCustomer.id);
  });

  it('gives the demo a portal customer who signs in and sees the pages of their rank', async () => {
    const code = seeded[0]!.portalCustomerCode!;
    const login = await app.inject({ method: 'POST', url: `/portal/demo${PORTAL_API.login}`, payload: { customerCode: code, password: DEMO_PORTAL_ACCOUNT.password } });
    expect(login.statusCode, login.body).toBe(200);
    const cookie = /tsunagu_portal=[^;]+/.exec(String(login.headers['set-cookie']))![0];
    const pages = PortalPageList.parse((await app.inject({ method: 'GET', url: `/portal/demo${PORTAL_API.pages}`, headers: { cookie } })).json()).pages;
    expect(pages.map((page) => page.slug)).toContain('toushin-a');
    expect(pages.map((page) => page.slug)).not.toContain('private-banking');
    // The code `npm start` prints is the one the default seed (1) picks: class 3, with an address.
    const first = planTenant(DEMO_USERS, 1, 1, NOW).generator.recordAt(0).customer;
    expect(first.code).toBe(DEMO_PORTAL_ACCOUNT.customerCode);
    expect(first.classification).toBe(3);
    expect(first.emails.length).toBeGreaterThan(0);
  });

  it('refuses to seed a database that already holds the demo tenant', async () => {
    await expect(
      seedBackend({ handle, argon2: target.config.argon2, customers: 1, seed: SEED, now: NOW }),
    ).rejects.toThrow(SeedTargetNotEmptyError);
  });
});
