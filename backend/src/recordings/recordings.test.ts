import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORDING_API, RecordingIngestResponse, RecordingListResponse, RecordingTicketResponse, type Recording } from '../../../shared/recordings.js';
import { startTelephonyBackend, type TelephonyBackend } from '../telephony/test-support.js';
import { DIALECTS } from '../testing/harness.js';
import { recordingsDb } from './schema.js';
import { sweepExpiredRecordings } from './store.js';

const DAY = 86_400_000;

describe.each(DIALECTS)('call recordings on %s', (dialect) => {
  let t: TelephonyBackend;
  const tokens = { admin: '', supervisor: '', agent: '', osaka: '' };
  /** Fake MP3 bytes: the backend stores what the PBX sends, byte for byte. */
  const audio = Buffer.from(Array.from({ length: 40_000 }, (_, i) => (i * 7) % 256));

  beforeAll(async () => {
    t = await startTelephonyBackend(dialect);
    for (const login of Object.keys(tokens) as Array<keyof typeof tokens>) tokens[login] = await t.backend.login(login);
  });
  afterAll(() => t?.dispose());

  const db = () => recordingsDb(t.backend.handle.db);

  /** A call of the agent with 山田 (as the CTI reports it) and its contact in the incident tree. */
  async function callWithContact(): Promise<{ callId: string; contactId: string }> {
    const { demo } = t.backend;
    const callId = `rec-${randomUUID()}@pbx`;
    const now = new Date().toISOString();
    await db()
      .insertInto('calls')
      .values({
        id: randomUUID(), tenant_id: demo.tenant.id, external_id: callId, status: 'ended', direction: 'inbound', agent_id: demo.users.agent.id,
        from_number: '+81312345678', to_number: '0120555001', started_at: now, answered_at: now, ended_at: now, updated_at: now,
        customer_id: demo.customers.yamada.id, call_log_contact_id: null,
      })
      .execute();
    const contactId = randomUUID();
    await db()
      .insertInto('contacts')
      .values({
        id: contactId, tenant_id: demo.tenant.id, incident_id: demo.customers.yamada.incidentIds[0]!, customer_id: demo.customers.yamada.id,
        kind: 'call', direction: 'inbound', occurred_at: now, agent_id: demo.users.agent.id, summary: '録音テスト', body: '',
        call_meta: JSON.stringify({ callId }), created_at: now,
      })
      .execute();
    return { callId, contactId };
  }

  async function ingest(callId: string, body = audio) {
    const query = new URLSearchParams({ tenant: 'demo', callId, startedAt: new Date(Date.now() - 5000).toISOString(), durationMs: '5000', to: '0120555001' });
    const response = await t.app.inject({
      method: 'POST',
      url: `${RECORDING_API.ctiIngest}?${query}`,
      headers: { authorization: `Bearer ${t.ctiToken}`, 'content-type': 'audio/mpeg' },
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(200);
    return RecordingIngestResponse.parse(response.json());
  }

  async function setPolicy(body: unknown, token = tokens.admin) {
    return t.call('PUT', RECORDING_API.settings, { token, body });
  }

  async function listOf(contactId: string, token: string) {
    return t.call('GET', `${RECORDING_API.list}?contactId=${contactId}`, { token });
  }

  it('keeps nothing while the policy is off, and only admins change it, with a clear error for a bad one', async () => {
    const { callId } = await callWithContact();
    expect(await ingest(callId)).toMatchObject({ kept: false });
    expect((await setPolicy({ policy: { mode: 'all' }, retentionDays: 30 }, tokens.supervisor)).statusCode).toBe(403);
    const bad = await setPolicy({ policy: { mode: 'numbers', numbers: [] }, retentionDays: 30 });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('policy.numbers');
    expect((await setPolicy({ policy: { mode: 'numbers', numbers: ['0120555001'] }, retentionDays: 30 })).statusCode).toBe(200);
    const byNumber = await callWithContact();
    expect(await ingest(byNumber.callId)).toMatchObject({ kept: true });
  });

  it('stores the file with its hash, lists it on the call contact with the pause, and streams it with Range to those who may see the customer', async () => {
    expect((await setPolicy({ policy: { mode: 'all' }, retentionDays: 30 })).statusCode).toBe(200);
    const { callId, contactId } = await callWithContact();
    await db().insertInto('recording_marks').values([
      { id: randomUUID(), tenant_id: t.backend.demo.tenant.id, call_id: callId, action: 'pause', user_id: t.backend.demo.users.agent.id, at: new Date(Date.now() - 3000).toISOString() },
      { id: randomUUID(), tenant_id: t.backend.demo.tenant.id, call_id: callId, action: 'resume', user_id: t.backend.demo.users.agent.id, at: new Date(Date.now() - 2000).toISOString() },
    ]).execute();
    const stored = await ingest(callId);
    expect(stored.kept).toBe(true);

    const listed = await listOf(contactId, tokens.agent);
    expect(listed.statusCode, listed.body).toBe(200);
    const [recording] = RecordingListResponse.parse(listed.json()).recordings as [Recording];
    expect(recording.sha256).toBe(createHash('sha256').update(audio).digest('hex'));
    expect(recording.sizeBytes).toBe(audio.length);
    expect(recording.pauses).toHaveLength(1);
    expect(recording.pauses[0]!.toMs - recording.pauses[0]!.fromMs).toBeGreaterThan(500);
    const file = path.join(t.backend.config.recordings.dir, `${recording.id}.mp3`);
    expect(createHash('sha256').update(await readFile(file)).digest('hex')).toBe(recording.sha256);

    // The osaka operator may not see 山田: 403 on the list and on a ticket, nothing in the body.
    const refused = await listOf(contactId, tokens.osaka);
    expect(refused.statusCode).toBe(403);
    expect(refused.body).not.toContain(recording.id);
    expect((await t.call('POST', RECORDING_API.ticket.replace(':id', recording.id), { token: tokens.osaka, body: { purpose: 'play' } })).statusCode).toBe(403);

    const ticketResponse = await t.call('POST', RECORDING_API.ticket.replace(':id', recording.id), { token: tokens.agent, body: { purpose: 'play' } });
    expect(ticketResponse.statusCode, ticketResponse.body).toBe(200);
    const ticket = RecordingTicketResponse.parse(ticketResponse.json());
    const ranged = await t.app.inject({ method: 'GET', url: ticket.path, headers: { range: 'bytes=100-199' } });
    expect(ranged.statusCode).toBe(206);
    // The app's player reads the bytes from its own origin for the waveform: the ticket is the only credential.
    expect(ranged.headers['access-control-allow-origin']).toBe('*');
    expect(ranged.headers['content-range']).toBe(`bytes 100-199/${audio.length}`);
    expect(ranged.rawPayload.equals(audio.subarray(100, 200))).toBe(true);
    const whole = await t.app.inject({ method: 'GET', url: ticket.path });
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.equals(audio)).toBe(true);
    expect((await t.app.inject({ method: 'GET', url: ticket.path.replace(/ticket=.*/, 'ticket=' + 'x'.repeat(32)) })).statusCode).toBe(401);

    // One playback audited for the ticket, however many range requests the player made.
    const audits = await db().selectFrom('audit_events').select(['action', 'user_id', 'details']).where('action', 'in', ['recording_played', 'recording_stored']).execute();
    const mine = audits.filter((a) => a.details.includes(recording.id));
    expect(mine.map((a) => a.action).sort()).toEqual(['recording_played', 'recording_stored']);
    expect(mine.find((a) => a.action === 'recording_played')!.user_id).toBe(t.backend.demo.users.agent.id);
  });

  it('deletes expired recordings, but not one under legal hold (set by a supervisor, audited)', async () => {
    expect((await setPolicy({ policy: { mode: 'all' }, retentionDays: 7 })).statusCode).toBe(200);
    const expired = await ingest((await callWithContact()).callId);
    const held = await ingest((await callWithContact()).callId);
    const fresh = await ingest((await callWithContact()).callId);
    const longAgo = new Date(Date.now() - 30 * DAY).toISOString();
    await db().updateTable('recordings').set({ created_at: longAgo }).where('id', 'in', [expired.id!, held.id!]).execute();

    expect((await t.call('PUT', RECORDING_API.legalHold.replace(':id', held.id!), { token: tokens.agent, body: { hold: true, reason: '訴訟' } })).statusCode).toBe(403);
    const hold = await t.call('PUT', RECORDING_API.legalHold.replace(':id', held.id!), { token: tokens.supervisor, body: { hold: true, reason: '訴訟 2026-12' } });
    expect(hold.statusCode, hold.body).toBe(200);
    expect(hold.json()).toMatchObject({ legalHold: true, legalHoldReason: '訴訟 2026-12' });

    const deleted = await sweepExpiredRecordings(db(), t.backend.config.recordings.dir);
    expect(deleted).toEqual([expired.id]);
    const left = await db().selectFrom('recordings').select('id').where('id', 'in', [expired.id!, held.id!, fresh.id!]).execute();
    expect(left.map((r) => r.id).sort()).toEqual([held.id, fresh.id].sort());
    const dir = t.backend.config.recordings.dir;
    expect(existsSync(path.join(dir, `${expired.id}.mp3`))).toBe(false);
    expect(existsSync(path.join(dir, `${held.id}.mp3`))).toBe(true);
    const actions = await db().selectFrom('audit_events').select(['action', 'details']).where('action', 'in', ['recording_deleted', 'recording_legal_hold']).execute();
    expect(actions.filter((a) => a.details.includes(expired.id!)).map((a) => a.action)).toEqual(['recording_deleted']);
    expect(actions.filter((a) => a.details.includes(held.id!)).map((a) => a.action)).toEqual(['recording_legal_hold']);
  });

  it("lets the call's operator pause and resume, which the PBX reads as a command; others get 403", async () => {
    const { callId } = await callWithContact();
    const control = (token: string, action: string) => t.call('POST', RECORDING_API.control, { token, body: { callId, action } });
    const command = async () => (await t.call('GET', `${RECORDING_API.ctiCommand}?tenant=demo&callId=${encodeURIComponent(callId)}`, { cti: t.ctiToken })).json();
    await t.call('POST', RECORDING_API.ctiHealth, { cti: t.ctiToken, body: { tenant: 'demo', ok: true, detail: 'ok' } });
    expect((await control(tokens.osaka, 'pause')).statusCode).toBe(403);
    const paused = await control(tokens.agent, 'pause');
    expect(paused.statusCode, paused.body).toBe(200);
    expect(paused.json()).toMatchObject({ state: 'paused' });
    expect(await command()).toEqual({ paused: true });
    expect((await control(tokens.agent, 'pause')).statusCode).toBe(409);
    expect((await control(tokens.agent, 'resume')).json()).toMatchObject({ state: 'recording' });
    expect(await command()).toEqual({ paused: false });
    await t.call('POST', RECORDING_API.ctiHealth, { cti: t.ctiToken, body: { tenant: 'demo', ok: false, detail: 'recording daemon exited' } });
    expect((await t.call('GET', `${RECORDING_API.callState}?callId=${encodeURIComponent(callId)}`, { token: tokens.agent })).json()).toMatchObject({ state: 'unavailable' });
  });
});
