import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ApiErrorBody, ChangesPage, PushResponse, UserResponse, type SnapshotPage, type Change, type CustomerRecord } from '../../../shared/api.js';
import { decodeSnapshotPage } from '../../../shared/snapshot-wire.js';
import type { Customer } from '../../../shared/domain.js';
import { maySeeCustomer } from '../../../shared/permissions.js';
import { createCustomerRecord, createUser } from '../testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';

describe.each(DIALECTS)('sync on %s', (dialect) => {
  let backend: TestBackend;
  let tokens: Record<'supervisor' | 'agent' | 'osaka', string>;
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    tokens = {
      supervisor: await backend.login('supervisor'),
      agent: await backend.login('agent'),
      osaka: await backend.login('osaka'),
    };
  });
  afterAll(() => backend?.dispose());

  const errorOf = (response: { json(): unknown }) => ApiErrorBody.parse(response.json()).error;

  async function snapshotPage(token: string, query: string): Promise<SnapshotPage> {
    const response = await backend.get(`${API.syncSnapshot}${query}`, token);
    expect(response.statusCode, response.body).toBe(200);
    return decodeSnapshotPage(response.json());
  }

  /** The whole snapshot, page by page, as the app's first sync does it. */
  async function fullSnapshot(token: string, limit = 500): Promise<{ records: CustomerRecord[]; highWaterSeq: number }> {
    const first = await snapshotPage(token, `?limit=${limit}`);
    const records = [...first.records];
    let next = first.nextAfter;
    while (next !== null) {
      const page = await snapshotPage(token, `?limit=${limit}&after=${encodeURIComponent(next)}&highWaterSeq=${first.highWaterSeq}`);
      expect(page.highWaterSeq).toBe(first.highWaterSeq);
      records.push(...page.records);
      next = page.nextAfter;
    }
    return { records, highWaterSeq: first.highWaterSeq };
  }

  /** Every change after the cursor, following `hasMore`. */
  async function pullChanges(token: string, after: number, limit = 1000): Promise<{ changes: Change[]; cursor: number; last: ChangesPage }> {
    const changes: Change[] = [];
    let cursor = after;
    for (;;) {
      const response = await backend.get(`${API.syncChanges}?after=${cursor}&limit=${limit}`, token);
      expect(response.statusCode, response.body).toBe(200);
      const page = ChangesPage.parse(response.json());
      changes.push(...page.changes);
      expect(page.cursor).toBeGreaterThanOrEqual(cursor);
      cursor = page.cursor;
      if (!page.hasMore) return { changes, cursor, last: page };
    }
  }

  const customerIdsOf = (changes: Change[]) =>
    new Set(
      changes.flatMap((change) => {
        switch (change.op) {
          case 'upsert_customer':
            return [change.customer.id];
          case 'upsert_incident':
            return [change.incident.customerId];
          case 'upsert_contact':
            return [change.contact.customerId];
          default:
            return [];
        }
      }),
    );

  describe('snapshot', () => {
    it('pages through the customers a user may see, whole, and resumes with the echoed high-water mark', async () => {
      const { yamada, sato, acme } = backend.demo.customers;
      const first = await snapshotPage(tokens.supervisor, '?limit=1');
      expect(first.total).toBe(3);
      expect(first.records).toHaveLength(1);
      expect(first.rights.id).toBe(backend.demo.users.supervisor.id);
      expect(first.nextAfter).not.toBeNull();

      // A write between pages: its change is after the high-water mark, so the deltas bring it.
      const push = await backend.send(
        'POST',
        API.syncPush,
        { entries: [{ type: 'add_note', clientId: randomUUID(), incidentId: yamada.incidentIds[0], body: 'between pages', createdAt: new Date().toISOString() }] },
        tokens.supervisor,
      );
      const noteId = PushResponse.parse(push.json()).results[0]?.contactId;

      const ids = first.records.map((r) => r.customer.id);
      let next = first.nextAfter;
      while (next !== null) {
        const page = await snapshotPage(tokens.supervisor, `?limit=1&after=${encodeURIComponent(next)}&highWaterSeq=${first.highWaterSeq}`);
        expect(page.highWaterSeq).toBe(first.highWaterSeq);
        ids.push(...page.records.map((r) => r.customer.id));
        next = page.nextAfter;
      }
      expect(ids).toEqual([yamada.id, sato.id, acme.id].sort());

      const { changes } = await pullChanges(tokens.supervisor, first.highWaterSeq);
      expect(changes.some((c) => c.op === 'upsert_contact' && c.contact.id === noteId)).toBe(true);
    });

    it('holds only what the user may see, with incidents and contacts', async () => {
      const { records } = await fullSnapshot(tokens.agent);
      expect(records.map((r) => r.customer.code)).toEqual(['C-0001']);
      expect(records[0]?.incidents.length).toBeGreaterThan(0);
      expect(records[0]?.contacts.length).toBeGreaterThan(1);
      const osaka = await fullSnapshot(tokens.osaka);
      expect(osaka.records.map((r) => r.customer.code)).toEqual(['C-0002']);
    });

    it('with grownFrom holds only the customers the rights show now and those did not, page by page', async () => {
      const whole = await fullSnapshot(tokens.supervisor);
      const rights = (await snapshotPage(tokens.supervisor, '?limit=1')).rights;
      const before = { role: rights.role, branch: rights.branch, customerLimitAuthority: 3 as const };
      const expected = whole.records
        .filter((r) => !maySeeCustomer({ ...rights, ...before }, r.customer))
        .map((r) => r.customer.id)
        .sort();
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(whole.records.length);
      const grownFrom = encodeURIComponent(JSON.stringify(before));
      const first = await snapshotPage(tokens.supervisor, `?limit=1&grownFrom=${grownFrom}`);
      expect(first.total).toBe(expected.length);
      const ids = first.records.map((r) => r.customer.id);
      let next = first.nextAfter;
      while (next !== null) {
        const page = await snapshotPage(tokens.supervisor, `?limit=1&after=${encodeURIComponent(next)}&highWaterSeq=${first.highWaterSeq}&grownFrom=${grownFrom}`);
        ids.push(...page.records.map((r) => r.customer.id));
        next = page.nextAfter;
      }
      expect(ids).toEqual(expected);
    });

    it('names what is wrong with grownFrom', async () => {
      const notJson = await backend.get(`${API.syncSnapshot}?grownFrom=nope`, tokens.supervisor);
      expect(notJson.statusCode).toBe(400);
      expect(errorOf(notJson).message).toContain('query.grownFrom: not JSON');
      const badLimit = await backend.get(`${API.syncSnapshot}?grownFrom=${encodeURIComponent(JSON.stringify({ role: 'agent', branch: null, customerLimitAuthority: 7 }))}`, tokens.supervisor);
      expect(badLimit.statusCode).toBe(400);
      expect(errorOf(badLimit).message).toContain('query.grownFrom.customerLimitAuthority');
    });

    it('asks for the high-water mark when resuming', async () => {
      const response = await backend.get(`${API.syncSnapshot}?after=x`, tokens.agent);
      expect(response.statusCode).toBe(400);
      expect(errorOf(response).message).toContain('query.highWaterSeq');
    });
  });

  describe('changes', () => {
    it('feeds only what the user may see', async () => {
      const { changes, last } = await pullChanges(tokens.agent, 0, 2);
      expect(last.rights.id).toBe(backend.demo.users.agent.id);
      expect([...customerIdsOf(changes)]).toEqual([backend.demo.customers.yamada.id]);
      expect(changes.filter((c) => c.op === 'delete_customer')).toEqual([]);
      const seqs = changes.map((c) => c.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    });

    it('names a bad cursor, and refuses one ahead of the log', async () => {
      const bad = await backend.get(`${API.syncChanges}?after=-1`, tokens.agent);
      expect(bad.statusCode).toBe(400);
      expect(errorOf(bad).message).toContain('query.after');
      const missing = await backend.get(API.syncChanges, tokens.agent);
      expect(errorOf(missing).message).toContain('query.after');
      const ahead = await backend.get(`${API.syncChanges}?after=999999`, tokens.agent);
      expect(ahead.statusCode).toBe(409);
    });

    it('(b) hands shrunken rights to the user, whose cache purge then matches a fresh snapshot', async () => {
      const user = await createUser(
        backend.handle,
        backend.demo.tenant.id,
        { login: 'shrinking', password: backend.demo.password, customerLimitAuthority: 2 },
        backend.config.argon2,
      );
      const token = await backend.login('shrinking');
      const first = await fullSnapshot(token);
      const cache = new Map<string, Customer>(first.records.map((r) => [r.customer.id, r.customer]));
      expect([...cache.values()].map((c) => c.code).sort()).toEqual(['C-0001', 'C-0002']);
      const { cursor } = await pullChanges(token, first.highWaterSeq);

      const lowered = await backend.send('PATCH', API.userRights.replace(':id', user.id), { customerLimitAuthority: 3 }, tokens.supervisor);
      expect(lowered.statusCode, lowered.body).toBe(200);
      expect(UserResponse.parse(lowered.json()).user.customerLimitAuthority).toBe(3);

      const { last } = await pullChanges(token, cursor);
      expect(last.rights.customerLimitAuthority).toBe(3);
      for (const [id, customer] of cache) if (!maySeeCustomer(last.rights, customer)) cache.delete(id);
      const fresh = await fullSnapshot(token);
      expect([...cache.keys()].sort()).toEqual(fresh.records.map((r) => r.customer.id).sort());
      expect([...cache.values()].map((c) => c.code)).toEqual(['C-0001']);

      const audit = await backend.handle.db.selectFrom('audit_events').selectAll().where('action', '=', 'rights_changed').execute();
      expect(audit.some((event) => event.details.includes(user.id))).toBe(true);
    });

    it('(b) turns a raised classification into delete_customer, and a lowered one back into the whole record', async () => {
      const customer = await createCustomerRecord(backend.handle, backend.demo.tenant.id, {
        code: 'C-2001',
        name: '伊藤 美咲',
        classification: 3,
        incidents: [{ title: '解約の相談', contacts: [{ kind: 'call', direction: 'inbound', summary: '解約したい' }] }],
      });
      const { cursor } = await pullChanges(tokens.agent, 0);
      const url = API.customer.replace(':id', customer.id);

      const raised = await backend.send('PATCH', url, { classification: 2 }, tokens.supervisor);
      expect(raised.statusCode, raised.body).toBe(200);
      const afterRaise = await pullChanges(tokens.agent, cursor);
      expect(afterRaise.changes).toEqual([expect.objectContaining({ op: 'delete_customer', customerId: customer.id })]);
      // Later writes to a customer the agent may not see are not in the agent's feed at all.
      await backend.send('POST', API.incidents, { customerId: customer.id, title: '再度の相談' }, tokens.supervisor);
      const hidden = await pullChanges(tokens.agent, afterRaise.cursor);
      expect(hidden.changes).toEqual([]);

      const restored = await backend.send('PATCH', url, { classification: 3 }, tokens.supervisor);
      expect(restored.statusCode).toBe(200);
      const afterRestore = await pullChanges(tokens.agent, hidden.cursor);
      const ops = afterRestore.changes.map((c) => c.op);
      expect(ops).toContain('upsert_customer');
      expect(afterRestore.changes.filter((c) => c.op === 'upsert_incident')).toHaveLength(2);
      expect(afterRestore.changes.filter((c) => c.op === 'upsert_contact')).toHaveLength(1);
    });

    it('sends delete_customer only to users who could have held the customer', async () => {
      // Class 2: the agent (authority 3) never could see it; the supervisor (authority 1) could.
      const customer = await createCustomerRecord(backend.handle, backend.demo.tenant.id, { code: 'C-2101', name: '秘密 顧客', classification: 2 });
      const agentCursor = (await pullChanges(tokens.agent, 0)).cursor;
      const osakaCursor = (await pullChanges(tokens.osaka, 0)).cursor;
      const raised = await backend.send('PATCH', API.customer.replace(':id', customer.id), { classification: 1 }, tokens.supervisor);
      expect(raised.statusCode, raised.body).toBe(200);
      const agentFeed = await pullChanges(tokens.agent, agentCursor);
      expect(agentFeed.changes.filter((c) => c.op === 'delete_customer')).toEqual([]);
      expect(JSON.stringify(agentFeed.changes)).not.toContain(customer.id);
      // osaka (authority 2, branch osaka) could not see a customer without that branch either.
      expect(JSON.stringify((await pullChanges(tokens.osaka, osakaCursor)).changes)).not.toContain(customer.id);
      const lowered = await backend.send('PATCH', API.customer.replace(':id', customer.id), { classification: 2 }, tokens.supervisor);
      expect(lowered.statusCode).toBe(200);
      const supervisorCursor = (await pullChanges(tokens.supervisor, 0)).cursor;
      await backend.send('PATCH', API.customer.replace(':id', customer.id), { branch: 'osaka' }, tokens.supervisor);
      const moved = await pullChanges(tokens.agent, agentFeed.cursor);
      expect(JSON.stringify(moved.changes)).not.toContain(customer.id);
      // The supervisor (no branch) still sees it after the move: no delete for them either.
      expect((await pullChanges(tokens.supervisor, supervisorCursor)).changes.filter((c) => c.op === 'delete_customer')).toEqual([]);
    });

    it('lets only supervisors and admins change rights, and never an admin\'s rights from a supervisor', async () => {
      const agentTry = await backend.send('PATCH', API.userRights.replace(':id', backend.demo.users.agent.id), { customerLimitAuthority: 1 }, tokens.agent);
      expect(agentTry.statusCode).toBe(403);
      const onAdmin = await backend.send('PATCH', API.userRights.replace(':id', backend.demo.users.admin.id), { customerLimitAuthority: 3 }, tokens.supervisor);
      expect(onAdmin.statusCode).toBe(403);
      const bad = await backend.send('PATCH', API.userRights.replace(':id', backend.demo.users.agent.id), { customerLimitAuthority: 5 }, tokens.supervisor);
      expect(bad.statusCode).toBe(400);
      expect(errorOf(bad).message).toContain('body.customerLimitAuthority');
      const empty = await backend.send('PATCH', API.userRights.replace(':id', backend.demo.users.agent.id), {}, tokens.supervisor);
      expect(empty.statusCode).toBe(400);
      const missing = await backend.send('PATCH', API.userRights.replace(':id', 'no-such-user'), { branch: null }, tokens.supervisor);
      expect(missing.statusCode).toBe(404);
    });
  });

  describe('push', () => {
    const note = (body: string, incidentId = backend.demo.customers.yamada.incidentIds[0] ?? '') => ({
      type: 'add_note' as const,
      clientId: randomUUID(),
      incidentId,
      body,
      createdAt: new Date().toISOString(),
    });
    const push = async (entries: unknown[], token = tokens.agent) => {
      const response = await backend.send('POST', API.syncPush, { entries }, token);
      expect(response.statusCode, response.body).toBe(200);
      return PushResponse.parse(response.json()).results;
    };
    const countContacts = async (ids: string[]) =>
      Number(
        (
          await backend.handle.db
            .selectFrom('contacts')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('id', 'in', ids)
            .executeTakeFirstOrThrow()
        ).n,
      );

    it('(c) stores each note of a batch sent twice exactly once', async () => {
      const batch = [note('一回目のメモ'), note('二回目のメモ'), note('三回目のメモ')];
      const first = await push(batch);
      expect(first.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);
      const again = await push(batch);
      expect(again.map((r) => r.status)).toEqual(['duplicate', 'duplicate', 'duplicate']);
      expect(again.map((r) => r.contactId)).toEqual(first.map((r) => r.contactId));

      const ids = first.map((r) => r.contactId ?? '');
      expect(await countContacts(ids)).toBe(3);
      const byBody = await backend.handle.db
        .selectFrom('contacts')
        .select(['body', 'kind', 'agent_id'])
        .where('body', 'in', batch.map((entry) => entry.body))
        .execute();
      expect(byBody).toHaveLength(3);
      expect(byBody.every((row) => row.kind === 'note' && row.agent_id === backend.demo.users.agent.id)).toBe(true);
    });

    it('stores a note with its audit event and one change-log entry, and a pull right after the push holds it', async () => {
      const entry = note('監査と変更履歴\n二行目');
      const before = Number((await backend.handle.db.selectFrom('tenants').select('last_seq').where('id', '=', backend.demo.tenant.id).executeTakeFirstOrThrow()).last_seq);
      const [result] = await push([entry]);
      const contactId = result?.contactId ?? '';
      const { yamada } = backend.demo.customers;
      const contact = await backend.handle.db.selectFrom('contacts').selectAll().where('id', '=', contactId).executeTakeFirstOrThrow();
      expect(contact).toMatchObject({ incident_id: entry.incidentId, customer_id: yamada.id, kind: 'note', direction: 'internal', summary: '監査と変更履歴', body: entry.body, call_meta: null });
      expect(contact.occurred_at).toBe(entry.createdAt);
      const audit = await backend.handle.db.selectFrom('audit_events').selectAll().where('action', '=', 'note_added').where('details', 'like', `%${contactId}%`).execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ user_id: backend.demo.users.agent.id, customer_id: yamada.id });
      expect(JSON.parse(audit[0]?.details ?? '')).toEqual({ incidentId: entry.incidentId, contactId, clientId: entry.clientId });
      const logged = await backend.handle.db.selectFrom('change_log').selectAll().where('entity_id', '=', contactId).execute();
      expect(logged.map((row) => ({ ...row, seq: Number(row.seq) }))).toMatchObject([{ entity: 'contact', customer_id: yamada.id, op: 'upsert', visibility_changed: 0, visibility_before: null }]);
      expect(Number(logged[0]?.seq)).toBeGreaterThan(before);
      const page = await backend.get(`${API.syncChanges}?after=${before}`, tokens.agent);
      expect(ChangesPage.parse(page.json()).changes.some((change) => change.op === 'upsert_contact' && change.contact.id === contactId)).toBe(true);
    });

    it('(c) stores a note once when two copies of the batch race in', async () => {
      const batch = [note('同時送信')];
      const [a, b] = await Promise.all([push(batch), push(batch)]);
      expect([a[0]?.status, b[0]?.status].sort()).toEqual(['applied', 'duplicate']);
      expect(a[0]?.contactId).toBe(b[0]?.contactId);
      const stored = await backend.handle.db.selectFrom('contacts').select('id').where('body', '=', '同時送信').execute();
      expect(stored).toHaveLength(1);
    });

    it('rejects, without failing, a note for an incident the user may not see or that does not exist', async () => {
      const hidden = note('見えないはず', backend.demo.customers.acme.incidentIds[0]);
      const missing = note('存在しない', 'no-such-incident');
      const results = await push([hidden, missing, note('通る')]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'applied']);
      expect(results[0]?.error).toMatch(/not visible/);
      const stored = await backend.handle.db.selectFrom('contacts').select('id').where('body', 'in', ['見えないはず', '存在しない']).execute();
      expect(stored).toHaveLength(0);
      expect((await push([hidden]))[0]?.status).toBe('rejected');
    });

    it('names the field of a malformed push', async () => {
      const badId = await backend.send('POST', API.syncPush, { entries: [{ ...note('x'), clientId: 'not-a-uuid' }] }, tokens.agent);
      expect(badId.statusCode).toBe(400);
      expect(errorOf(badId).message).toContain('body.entries.0.clientId');
      const blank = await backend.send('POST', API.syncPush, { entries: [note('   ')] }, tokens.agent);
      expect(errorOf(blank).message).toContain('body.entries.0.body');
      const none = await backend.send('POST', API.syncPush, { entries: [] }, tokens.agent);
      expect(errorOf(none).message).toContain('body.entries');
    });
  });
});
