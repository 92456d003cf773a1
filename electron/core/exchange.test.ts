import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExchangeExport, shareExchangeExport } from '../../backend/src/exchange/exports.js';
import { createUser } from '../../backend/src/testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../../backend/src/testing/harness.js';
import { resolvePolicy } from '../../shared/exchange.js';
import { startTestCore, type TestCore } from './testing/core-harness.js';

/** The exchange through the core, and what a partner user's sign-in opens: nothing but a backend client. */
describe('the exchange in the core', () => {
  let backend: TestBackend;
  let backendUrl: string;
  let exportId: string;
  const cores: TestCore[] = [];

  beforeAll(async () => {
    backend = await startTestBackend('sqlite');
    const { tenant, password, users } = backend.demo;
    await createUser(backend.handle, tenant.id, { login: 'partner', password, role: 'partner', partnerOrg: 'Partner A', sipUser: null }, backend.config.argon2);
    const created = await createExchangeExport(backend.handle.db, { tenantId: tenant.id, userId: users.admin.id, title: 'Shared', filter: {}, policy: resolvePolicy({}) });
    exportId = created.id;
    await shareExchangeExport(backend.handle.db, { tenantId: tenant.id, userId: users.admin.id, exportId, partnerOrg: 'Partner A' });
    backendUrl = await backend.listen();
  });
  afterAll(async () => {
    for (const core of cores) {
      await core.dispose();
      fs.rmSync(core.dataDir, { recursive: true, force: true });
    }
    await backend?.dispose();
  });

  const signIn = async (login: string) => {
    const core = startTestCore({ backendUrl });
    cores.push(core);
    await core.value('session:login', { tenant: backend.demo.tenant.slug, login, password: backend.demo.password });
    return core;
  };

  it('gives a partner user the exchange and no cache, sync or customer channel', async () => {
    const core = await signIn('partner');
    expect((await core.value('session:current', undefined))?.user).toMatchObject({ role: 'partner', partnerOrg: 'Partner A' });
    const listed = await core.value('exchange:list', undefined);
    expect(listed.map((entry) => entry.id)).toEqual([exportId]);
    const file = await core.value('exchange:download', { exportId, format: 'csv' });
    expect(file.fileName).toBe(`exchange-${exportId}.csv`);
    expect(file.content.startsWith('\ufeff"customerRef"')).toBe(true);

    expect((await core.value('sync:status', undefined)).phase).toBe('signed_out');
    const search = await core.call('customers:search', { query: '山田' });
    expect(search.ok ? null : search.error.code).toBe('forbidden');
    const phone = await core.call('sip:credentials', undefined);
    expect(phone.ok ? null : phone.error.code).toBe('forbidden');
    const files = fs.readdirSync(core.dataDir, { recursive: true }).map(String);
    expect(files.filter((name) => name.endsWith('cache.db'))).toEqual([]);

    await core.value('session:logout', undefined);
    expect(await core.value('session:current', undefined)).toBeNull();
    const after = await core.call('exchange:list', undefined);
    expect(after.ok ? null : after.error.code).toBe('unauthenticated');
  });

  it("lets an admin preview through the core, and passes the backend's refusal of a bad policy on", async () => {
    const core = await signIn('admin');
    const preview = await core.value('exchange:preview', { filter: {}, policy: {}, limit: 2 });
    expect(preview.records.length).toBeGreaterThan(0);
    expect(preview.fields).not.toContain('customerAddress');
    const bad = await core.call('exchange:preview', { filter: {}, policy: { customerRef: 'keep' } });
    expect(bad.ok ? null : bad.error.code).toBe('invalid_input');
  });
});
