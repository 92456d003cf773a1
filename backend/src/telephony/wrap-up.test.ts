import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, ApiErrorBody, ChangesPage, PushResponse, type OutboxEntry } from '../../../shared/api.js';
import { createDemoTenant, type DemoTenant } from '../testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';

type LogCall = Extract<OutboxEntry, { type: 'log_call' }>;

describe.each(DIALECTS)('wrap-up (log_call) through the sync push on %s', (dialect) => {
  let backend: TestBackend;
  let tokens: Record<'agent' | 'supervisor' | 'otherAgent', string>;
  let other: DemoTenant;

  beforeAll(async () => {
    backend = await startTestBackend(dialect);
    other = await createDemoTenant(backend.handle, backend.config.argon2, { slug: 'other' });
    tokens = {
      agent: await backend.login('agent'),
      supervisor: await backend.login('supervisor'),
      otherAgent: await backend.login('agent', { tenant: 'other' }),
    };
  });
  afterAll(() => backend?.dispose());

  const logCall = (overrides: Partial<LogCall> = {}): LogCall => ({
    type: 'log_call',
    clientId: randomUUID(),
    customerId: backend.demo.customers.yamada.id,
    incidentId: backend.demo.customers.yamada.incidentIds[0]!,
    newIncidentTitle: null,
    direction: 'inbound',
    summary: '請求書の件で再度お問い合わせ',
    body: '再発行済みの旨をご案内。',
    callMeta: {
      callId: 'wrap-1@test',
      from: '+81312345678',
      to: 'agent',
      startedAt: '2026-05-01T02:00:00.000Z',
      answeredAt: '2026-05-01T02:00:08.000Z',
      endedAt: '2026-05-01T02:04:08.000Z',
      durationSeconds: 240,
      disposition: 'resolved',
      callbackNeeded: true,
    },
    createdAt: '2026-05-01T02:05:00.000Z',
    ...overrides,
  });
  const push = async (entries: unknown[], token = tokens.agent) => {
    const response = await backend.send('POST', API.syncPush, { entries }, token);
    expect(response.statusCode, response.body).toBe(200);
    return PushResponse.parse(response.json()).results;
  };
  const contact = (id: string) => backend.handle.db.selectFrom('contacts').selectAll().where('id', '=', id).executeTakeFirst();

  it('stores the call as a contact with its call meta, once per clientId, through the change log', async () => {
    const cursor = ChangesPage.parse((await backend.get(`${API.syncChanges}?after=0&limit=5000`, tokens.agent)).json()).cursor;
    const entry = logCall();
    const [applied] = await push([entry]);
    expect(applied).toMatchObject({ clientId: entry.clientId, status: 'applied', error: null });
    const [again] = await push([entry]);
    expect(again).toEqual({ clientId: entry.clientId, status: 'duplicate', contactId: applied!.contactId, error: null });

    const stored = await contact(applied!.contactId!);
    expect(stored).toMatchObject({
      incident_id: entry.incidentId,
      customer_id: entry.customerId,
      kind: 'call',
      direction: 'inbound',
      occurred_at: '2026-05-01T02:00:00.000Z',
      agent_id: backend.demo.users.agent.id,
      summary: entry.summary,
      body: entry.body,
    });
    expect(JSON.parse(stored!.call_meta!)).toEqual(entry.callMeta);
    const stored2 = await backend.handle.db.selectFrom('contacts').select('id').where('call_meta', 'like', '%wrap-1@test%').execute();
    expect(stored2).toHaveLength(1);

    const changes = ChangesPage.parse((await backend.get(`${API.syncChanges}?after=${cursor}`, tokens.agent)).json()).changes;
    const synced = changes.find((change) => change.op === 'upsert_contact' && change.contact.id === applied!.contactId);
    expect(synced).toMatchObject({ contact: { kind: 'call', callMeta: { disposition: 'resolved', callbackNeeded: true, durationSeconds: 240 } } });
  });

  it('opens a new incident under the entry\'s clientId, assigned to the agent', async () => {
    const entry = logCall({ incidentId: null, newIncidentTitle: '住所変更のご依頼', callMeta: { callId: 'wrap-2@test', answeredAt: null } });
    const [applied] = await push([entry]);
    expect(applied?.status).toBe('applied');
    const incident = await backend.handle.db.selectFrom('incidents').selectAll().where('id', '=', entry.clientId).executeTakeFirst();
    expect(incident).toMatchObject({
      customer_id: entry.customerId,
      title: '住所変更のご依頼',
      status: 'open',
      assignee_id: backend.demo.users.agent.id,
      opened_at: entry.createdAt,
    });
    const stored = await contact(applied!.contactId!);
    expect(stored?.incident_id).toBe(entry.clientId);
    // No answer, no talk time.
    expect(JSON.parse(stored!.call_meta!)).toMatchObject({ answeredAt: null, durationSeconds: 0 });
    expect((await push([entry]))[0]?.status).toBe('duplicate');
    const incidents = await backend.handle.db.selectFrom('incidents').select('id').where('title', '=', '住所変更のご依頼').execute();
    expect(incidents).toHaveLength(1);
  });

  it('rejects entries that point at the wrong incident or customer, keeping the rest', async () => {
    const { yamada, sato, acme } = backend.demo.customers;
    const results = await push([
      logCall({ incidentId: sato.incidentIds[0]! }),
      logCall({ incidentId: null, newIncidentTitle: null }),
      logCall({ incidentId: yamada.incidentIds[0]!, newIncidentTitle: 'both' }),
      // Class 1: the agent may not see Acme.
      logCall({ customerId: acme.id, incidentId: acme.incidentIds[0]! }),
      logCall({ customerId: other.customers.yamada.id, incidentId: other.customers.yamada.incidentIds[0]! }),
      logCall(),
    ]);
    expect(results.map((result) => [result.status, result.error?.split(':')[0] ?? null])).toEqual([
      ['rejected', 'incidentId'],
      ['rejected', 'incidentId, newIncidentTitle'],
      ['rejected', 'incidentId, newIncidentTitle'],
      ['rejected', 'customerId'],
      ['rejected', 'customerId'],
      ['applied', null],
    ]);
  });

  it('keeps tenants apart: an incident id of another tenant is no incident', async () => {
    const [result] = await push([logCall({ customerId: other.customers.yamada.id, incidentId: other.customers.yamada.incidentIds[0]! })], tokens.otherAgent);
    expect(result?.status).toBe('applied');
    const [crossing] = await push(
      [logCall({ customerId: other.customers.yamada.id, incidentId: backend.demo.customers.yamada.incidentIds[0]! })],
      tokens.otherAgent,
    );
    expect(crossing).toMatchObject({ status: 'rejected' });
  });

  it('refuses malformed entries with a 400 naming the field', async () => {
    const bad = async (entry: unknown) => {
      const response = await backend.send('POST', API.syncPush, { entries: [entry] }, tokens.agent);
      expect(response.statusCode).toBe(400);
      return ApiErrorBody.parse(response.json()).error.message;
    };
    expect(await bad({ ...logCall(), direction: 'sideways' })).toContain('body.entries.0.direction');
    expect(await bad({ ...logCall(), callMeta: { ...logCall().callMeta, durationSeconds: -5 } })).toContain('body.entries.0.callMeta.durationSeconds');
    expect(await bad({ ...logCall(), customerId: '' })).toContain('body.entries.0.customerId');
    expect(await bad({ ...logCall(), newIncidentTitle: '   ' })).toContain('body.entries.0.newIncidentTitle');
  });
});
