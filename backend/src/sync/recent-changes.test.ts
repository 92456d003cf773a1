import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, type ChangesPage } from '../../../shared/api.js';
import { resolveSession, type AuthContext } from '../auth/sessions.js';
import { createCustomerRecord } from '../testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';
import { currentSeq, writeTransaction } from './changelog.js';
import { readChangesPage } from './changes.js';
import { changesPageJson } from './changes-json.js';
import { RecentChanges } from './recent-changes.js';

type Who = 'supervisor' | 'agent' | 'osaka';
const WHO: Who[] = ['supervisor', 'agent', 'osaka'];

describe.each(DIALECTS)('recent changes in memory on %s', (dialect) => {
  let backend: TestBackend;
  let tokens: Record<Who, string>;
  /** A request's session, read as each request reads it (with the tenant's change-log position). */
  const authOf = async (who: Who): Promise<AuthContext> => {
    const auth = await resolveSession(backend.handle, tokens[who], backend.config.sessionIdleMinutes);
    if (!auth) throw new Error('no session');
    return auth;
  };
  let recent: RecentChanges;
  let small: RecentChanges;
  let start: number;
  let end: number;

  const tenantId = () => backend.demo.tenant.id;

  async function push(token: string, incidentId: string, body: string): Promise<void> {
    expect((await backend.pushNote(token, incidentId, body)).status).toBe('applied');
  }

  /** Every cursor from `start` to `end`, a few page sizes, every user: memory and database agree. */
  async function expectSamePages(feed: RecentChanges): Promise<number> {
    let compared = 0;
    for (const who of WHO) {
      const auth = await authOf(who);
      for (let after = start; after <= end; after++) {
        for (const limit of [1, 3, 1000]) {
          const query = { after, limit };
          const fromDatabase = await readChangesPage(backend.handle, auth, query);
          const fromMemory = await readChangesPage(backend.handle, auth, query, feed);
          expect(withoutClock(fromMemory), `${who} after ${after} limit ${limit}`).toEqual(withoutClock(fromDatabase));
          expect(withoutClock(JSON.parse(changesPageJson(fromMemory)) as ChangesPage)).toEqual(withoutClock(JSON.parse(JSON.stringify(fromDatabase)) as ChangesPage));
          compared++;
        }
      }
    }
    return compared;
  }

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tokens = {
      supervisor: await backend.login('supervisor'),
      agent: await backend.login('agent'),
      osaka: await backend.login('osaka'),
    };

    // Both feeds start here: what was logged before is only in the database.
    start = await currentSeq(backend.handle, tenantId());
    recent = new RecentChanges(backend.handle);
    small = new RecentChanges(backend.handle, { capacity: 4 });
    for (const feed of [recent, small]) expect(await feed.sourceAfter(tenantId(), start, 10, start)).toBeDefined();

    // A mix: customers of every class and branch, notes, a rename, a deleted contact, a raised
    // and a lowered classification, and notes after those.
    const open = await createCustomerRecord(backend.handle, tenantId(), {
      code: 'R-0001',
      name: '公開 顧客',
      classification: 3,
      incidents: [{ title: '問い合わせ', contacts: [{ kind: 'call', direction: 'inbound', summary: '最初の電話' }] }],
    });
    const secret = await createCustomerRecord(backend.handle, tenantId(), {
      code: 'R-0002',
      name: '機密 顧客',
      classification: 2,
      incidents: [{ title: '機密案件' }],
    });
    const osakaOnly = await createCustomerRecord(backend.handle, tenantId(), {
      code: 'R-0003',
      name: '大阪 顧客',
      classification: 2,
      branch: 'osaka',
      incidents: [{ title: '大阪案件' }],
    });
    await push(tokens.agent, open.incidentIds[0]!, 'agent note');
    await push(tokens.supervisor, secret.incidentIds[0]!, 'secret note');
    await push(tokens.osaka, osakaOnly.incidentIds[0]!, 'osaka note');
    const renamed = await backend.send('PATCH', API.customer.replace(':id', open.id), { name: '公開 顧客(改)' }, tokens.supervisor);
    expect(renamed.statusCode, renamed.body).toBe(200);
    await writeTransaction(backend.handle, async (tx) => {
      await tx.trx.deleteFrom('contacts').where('id', '=', open.contactIds[0]!).execute();
      await tx.recordChange({ tenantId: tenantId(), entity: 'contact', entityId: open.contactIds[0]!, customerId: open.id, op: 'delete' });
    });
    await push(tokens.supervisor, open.incidentIds[0]!, 'after the delete');
    const raised = await backend.send('PATCH', API.customer.replace(':id', open.id), { classification: 2 }, tokens.supervisor);
    expect(raised.statusCode, raised.body).toBe(200);
    await push(tokens.supervisor, open.incidentIds[0]!, 'while confidential');
    const lowered = await backend.send('PATCH', API.customer.replace(':id', secret.id), { classification: 3 }, tokens.supervisor);
    expect(lowered.statusCode, lowered.body).toBe(200);
    await push(tokens.agent, secret.incidentIds[0]!, 'now open');
    await push(tokens.osaka, osakaOnly.incidentIds[0]!, 'osaka again');
    end = await currentSeq(backend.handle, tenantId());
  });
  afterAll(() => backend?.dispose());

  it('serves the same pages as the database for every cursor and user, rights-limited ones included', async () => {
    expect(end - start).toBeGreaterThan(12);
    const compared = await expectSamePages(recent);
    // Pages without a visibility change came from memory; those with one from the database.
    expect(recent.counts.memory).toBeGreaterThan(compared / 2);
    expect(recent.counts.database).toBeGreaterThan(0);
    // The filter is per user: the agent (class 3 only) is told less than the supervisor.
    const agentPage = await readChangesPage(backend.handle, await authOf('agent'), { after: start, limit: 1000 }, recent);
    const supervisorPage = await readChangesPage(backend.handle, await authOf('supervisor'), { after: start, limit: 1000 }, recent);
    expect(JSON.stringify(agentPage.changes)).not.toContain('osaka note');
    expect(JSON.stringify(agentPage.changes)).not.toContain('while confidential');
    expect(JSON.stringify(supervisorPage.changes)).toContain('osaka note');
    expect(JSON.stringify(supervisorPage.changes)).toContain('while confidential');
    expect(agentPage.changes.length).toBeLessThan(supervisorPage.changes.length);
  });

  it('reads cursors older than it holds from the database, with the same result', async () => {
    const before = small.counts.database;
    await expectSamePages(small);
    expect(small.counts.database).toBeGreaterThan(before);
    expect(small.counts.memory).toBeGreaterThan(0);
  });

  it('catches up on changes committed after it last read, before it answers', async () => {
    const customer = await createCustomerRecord(backend.handle, tenantId(), { code: 'R-0004', name: '追加 顧客', incidents: [{ title: '追加案件' }] });
    await push(tokens.agent, customer.incidentIds[0]!, 'the newest note');
    const page = await readChangesPage(backend.handle, await authOf('agent'), { after: end, limit: 1000 }, recent);
    expect(page.cursor).toBe(await currentSeq(backend.handle, tenantId()));
    expect(JSON.stringify(page.changes)).toContain('the newest note');
    expect(withoutClock(page)).toEqual(withoutClock(await readChangesPage(backend.handle, await authOf('agent'), { after: end, limit: 1000 })));
  });
});

/** A page without `callsSince`: it is read from the clock (a week back for a first sign-in), not from the log. */
function withoutClock(page: ChangesPage): Omit<ChangesPage, 'callsSince'> {
  const { callsSince, ...rest } = page;
  void callsSince;
  return rest;
}
