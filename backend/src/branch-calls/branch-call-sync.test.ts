import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ChangesPage, PushResponse, type Change } from '../../../shared/api.js';
import { decodeSnapshotPage } from '../../../shared/snapshot-wire.js';
import type { User } from '../../../shared/domain.js';
import { createCustomerRecord, createUser, type FixtureCustomer, type UserSpec } from '../testing/fixtures.js';
import { DIALECTS } from '../testing/harness.js';
import { TELEPHONY_API } from '../telephony/routes.js';
import { startTelephonyBackend, type TelephonyBackend } from '../telephony/test-support.js';

/**
 * "Calls for you" through the sync feed: the snapshot's last page carries the calls a user may
 * hold, every change of a call (a PBX report, a handled mark) reaches the apps of the users in
 * whose some scope it is and no one else's, and a customer that becomes more confidential takes
 * its calls out of the caches of those who may no longer see them.
 */
describe.each(DIALECTS)('calls for you in the sync feed on %s', (dialect) => {
  let t: TelephonyBackend;
  type Who = 'repA' | 'repC' | 'wide' | 'unreg' | 'admin';
  const users = {} as Record<Who, { user: User; token: string }>;
  const cursors = {} as Record<Who, number>;
  let shibuya: FixtureCustomer;

  const addUser = async (who: Who, spec: Omit<UserSpec, 'password'>) => {
    const user = await createUser(t.backend.handle, t.backend.demo.tenant.id, { ...spec, password: t.backend.demo.password }, t.backend.config.argon2);
    users[who] = { user, token: await t.backend.login(spec.login) };
  };

  const pbxMissedCall = async (callId: string, caller: string, agent: string) => {
    const response = await t.call('POST', TELEPHONY_API.ctiEvents, { cti: t.ctiToken, body: { tenant: 'demo', callId, event: 'missed', caller, called: agent, agent } });
    expect(response.statusCode, response.body).toBe(200);
  };

  /** The calls of the snapshot's last page (the page size reaches every customer of the test tenant). */
  const snapshotCalls = async (who: Who) => {
    const response = await t.call('GET', `${API.syncSnapshot}?limit=5000`, { token: users[who].token });
    expect(response.statusCode, response.body).toBe(200);
    const page = decodeSnapshotPage(response.json());
    expect(page.nextAfter).toBeNull();
    return page;
  };

  /** Every change after the user's cursor, which then moves to the end of the feed. */
  const pull = async (who: Who): Promise<Change[]> => {
    const changes: Change[] = [];
    for (let pages = 0; pages < 50; pages++) {
      const response = await t.call('GET', `${API.syncChanges}?after=${cursors[who]}`, { token: users[who].token });
      expect(response.statusCode, response.body).toBe(200);
      const page = ChangesPage.parse(response.json());
      changes.push(...page.changes);
      cursors[who] = page.cursor;
      if (!page.hasMore) return changes;
    }
    throw new Error('the feed did not end');
  };
  const callChanges = (changes: Change[]) =>
    changes.flatMap((change) =>
      change.op === 'upsert_branch_call' ? [`upsert ${change.call.key}`] : change.op === 'delete_branch_call' ? [`delete ${change.callKey}`] : [],
    );
  const uniqueSorted = (items: string[]) => [...new Set(items)].sort();

  beforeAll(async () => {
    t = await startTelephonyBackend(dialect);
    await addUser('repA', { login: 'rep-a', branch: '渋谷支店', customerLimitAuthority: 2, sipUser: '3001' });
    await addUser('repC', { login: 'rep-c', branch: '池袋支店', customerLimitAuthority: 3, sipUser: '3003' });
    await addUser('wide', { login: 'wide', branch: '渋谷支店', customerLimitAuthority: 2, sipUser: '3004' });
    await addUser('unreg', { login: 'unreg', branch: '渋谷支店', customerLimitAuthority: 2, mayHandleUnregisteredCallers: true, sipUser: '3005' });
    users.admin = { user: t.backend.demo.users.admin, token: await t.backend.login('admin') };
    const { handle: db } = t.backend;
    const tenantId = t.backend.demo.tenant.id;
    shibuya = await createCustomerRecord(db, tenantId, {
      code: 'FS-1', name: '渋谷 一郎', branch: '渋谷支店', classification: 2, assignedRepId: users.repA.user.id,
      phones: [{ e164: '+81311120001', kind: 'landline' }],
    });
    await createCustomerRecord(db, tenantId, {
      code: 'FS-2', name: '機密 二郎', branch: '渋谷支店', classification: 1, assignedRepId: users.repA.user.id,
      phones: [{ e164: '+81311120002', kind: 'landline' }],
    });
    await createCustomerRecord(db, tenantId, {
      code: 'FS-3', name: '池袋 三郎', branch: '池袋支店', classification: 3, assignedRepId: users.repC.user.id,
      phones: [{ e164: '+81311120003', kind: 'landline' }],
    });
    const granted = await t.backend.send('PATCH', API.userRights.replace(':id', users.wide.user.id), { callsAllBranches: true }, users.admin.token);
    expect(granted.statusCode, granted.body).toBe(200);

    await pbxMissedCall('sync-call-1', '03-1112-0001', '3001');
    await pbxMissedCall('sync-call-2', '03-1112-0002', '3001');
    await pbxMissedCall('sync-call-3', '03-1112-0003', '3003');
    await pbxMissedCall('sync-call-4', '03-9999-0001', '3001');
  });
  afterAll(() => t?.dispose());

  it('carries the calls each user may hold in the first sync, by branch, right and classification', async () => {
    const held = async (who: Who) => {
      const page = await snapshotCalls(who);
      cursors[who] = page.highWaterSeq;
      return page.branchCalls.map((call) => call.key).sort();
    };
    // The class 1 customer's call stays with the admin; the unknown caller with those who may handle one.
    expect(await held('repA')).toEqual(['sync-call-1']);
    expect(await held('repC')).toEqual(['sync-call-3']);
    expect(await held('wide')).toEqual(['sync-call-1', 'sync-call-3']);
    expect(await held('unreg')).toEqual(['sync-call-1', 'sync-call-4']);
    expect(await held('admin')).toEqual(['sync-call-1', 'sync-call-2', 'sync-call-3', 'sync-call-4']);
    const page = await snapshotCalls('repA');
    expect(page.branchCalls[0]).toMatchObject({
      key: 'sync-call-1',
      outcome: 'missed',
      customer: { id: shibuya.id, classification: 2, branch: '渋谷支店', assignedRep: { id: users.repA.user.id } },
      receivedBy: [{ id: users.repA.user.id, branch: '渋谷支店' }],
      handled: null,
    });
  });

  it('sends a new call to the users in whose scopes it is, and no one else', async () => {
    await pbxMissedCall('sync-call-5', '+81311120001', '3001');
    await pbxMissedCall('sync-call-6', '+81311120002', '3001');
    expect(uniqueSorted(callChanges(await pull('repA')))).toEqual(['upsert sync-call-5']);
    expect(callChanges(await pull('repC'))).toEqual([]);
    expect(uniqueSorted(callChanges(await pull('wide')))).toEqual(['upsert sync-call-5']);
    expect(uniqueSorted(callChanges(await pull('admin')))).toEqual(['upsert sync-call-5', 'upsert sync-call-6']);
    const page = ChangesPage.parse((await t.call('GET', `${API.syncChanges}?after=0&limit=1`, { token: users.repA.token })).json());
    expect(Date.parse(page.callsSince)).toBeLessThanOrEqual(Date.now());
  });

  it('propagates a handled mark to every app that holds the call', async () => {
    const response = await t.call('POST', API.syncPush, {
      token: users.repA.token,
      body: {
        entries: [
          {
            type: 'handle_call',
            clientId: randomUUID(),
            callKey: 'sync-call-5',
            customerId: shibuya.id,
            incidentId: null,
            action: { kind: 'contact', summary: '折り返し済み', body: '' },
            createdAt: new Date().toISOString(),
          },
        ],
      },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(PushResponse.parse(response.json()).results[0]).toMatchObject({ status: 'applied' });
    for (const who of ['repA', 'wide'] as const) {
      const upserts = (await pull(who)).flatMap((change) => (change.op === 'upsert_branch_call' ? [change.call] : []));
      expect(upserts.map((call) => call.key)).toEqual(['sync-call-5']);
      expect(upserts[0]!.handled).toMatchObject({ kind: 'contact', by: { id: users.repA.user.id } });
    }
    expect(callChanges(await pull('repC'))).toEqual([]);
  });

  it("deletes a customer's calls from the caches of those who may no longer see it, and only theirs", async () => {
    const raised = await t.backend.send('PATCH', `${API.customer.replace(':id', shibuya.id)}`, { classification: 1 }, users.admin.token);
    expect(raised.statusCode, raised.body).toBe(200);
    expect(uniqueSorted(callChanges(await pull('repA')))).toEqual(['delete sync-call-1', 'delete sync-call-5']);
    expect(uniqueSorted(callChanges(await pull('wide')))).toEqual(['delete sync-call-1', 'delete sync-call-5']);
    // Never held them: told nothing.
    expect(callChanges(await pull('repC'))).toEqual([]);
    expect(uniqueSorted(callChanges(await pull('admin')))).toEqual(['upsert sync-call-1', 'upsert sync-call-5']);
  });
});
