import { Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../testing/harness.js';
import { migrateToLatest } from '../migrate.js';
import { MIGRATION_NAMES, migrationsFor } from './index.js';
import { planSipUsers } from './005_sip_identities.js';

const BEFORE = MIGRATION_NAMES[MIGRATION_NAMES.indexOf('005_sip_identities') - 1]!;

describe('the SIP identity plan of migration 005', () => {
  it('qualifies logins by tenant, keeps unique extensions, and gives a remaining collision no phone', () => {
    const plan = planSipUsers([
      { id: 'a', login: 'agent1', sip_user: 'agent1', slug: 'demo' },
      { id: 'b', login: 'agent1', sip_user: null, slug: 'other' },
      { id: 'c', login: 'rep', sip_user: '2001', slug: 'demo' },
      { id: 'd', login: 'desk', sip_user: '3001', slug: 'demo' },
      { id: 'e', login: 'desk', sip_user: '3001', slug: 'other' },
      { id: 'f', login: 'dotted', sip_user: 'sales.team', slug: 'demo' },
      { id: 'g', login: 'taro@example.jp', sip_user: null, slug: 'demo' },
      { id: 'h', login: 'Agent1', sip_user: null, slug: 'demo' },
    ]);
    expect(Object.fromEntries(plan)).toEqual({
      a: 'agent1.demo',
      b: 'agent1.other',
      c: '2001',
      d: 'desk.demo',
      e: 'desk.other',
      f: 'dotted.demo',
      g: null,
      h: null,
    });
  });
});

describe.each(DIALECTS)('migration 005 on %s', (dialect) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.dispose();
    database = undefined;
  });

  it('turns the old login-as-SIP-user rows into unique identities, then enforces uniqueness', async () => {
    database = await openTestDatabase(dialect, {
      migrate: (handle) =>
        new Migrator({ db: handle.db, migrationTableName: 'kysely_migration', provider: { getMigrations: async () => migrationsFor(handle.dialect) } }).migrateTo(BEFORE),
    });
    const { db } = database.handle;
    const now = new Date().toISOString();
    await db.insertInto('tenants').values([
      { id: 't-demo', slug: 'demo', name: 'Demo', default_region: 'JP', last_seq: 0, created_at: now },
      { id: 't-other', slug: 'other', name: 'Other', default_region: 'JP', last_seq: 0, created_at: now },
    ]).execute();
    const user = (id: string, tenant: string, login: string, sipUser: string | null) => ({
      id, tenant_id: tenant, login, display_name: login, password_hash: 'x', role: 'agent' as const, branch: null,
      customer_limit_authority: 3, may_handle_unregistered: 0, sip_user: sipUser, disabled: 0, created_at: now, updated_at: now,
    });
    // What the old seed wrote: sip_user = login in both tenants, and an admin falling back to the login.
    await db.insertInto('users').values([
      user('u1', 't-demo', 'agent1', 'agent1'),
      user('u2', 't-other', 'agent1', 'agent1'),
      user('u3', 't-demo', 'admin', null),
      user('u4', 't-demo', 'rep', '2001'),
    ]).execute();

    expect(await migrateToLatest(database.handle)).toContain('005_sip_identities');
    const rows = await db.selectFrom('users').select(['id', 'sip_user']).orderBy('id').execute();
    expect(rows).toEqual([
      { id: 'u1', sip_user: 'agent1.demo' },
      { id: 'u2', sip_user: 'agent1.other' },
      { id: 'u3', sip_user: 'admin.demo' },
      { id: 'u4', sip_user: '2001' },
    ]);
    await expect(db.insertInto('users').values(user('u5', 't-other', 'rep2', '2001')).execute()).rejects.toThrow(/unique/i);
    await expect(sql`update users set sip_user = 'Agent1.Demo' where id = 'u2'`.execute(db)).rejects.toThrow(/unique/i);
    // Users without a phone may be many.
    await db.insertInto('users').values([user('u6', 't-other', 'x', null), user('u7', 't-other', 'y', null)]).execute();
  });
});
