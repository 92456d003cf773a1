import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { telephonyDb } from '../backend/src/telephony/schema.js';
import { startTelephonyBackend, type TelephonyBackend } from '../backend/src/telephony/test-support.js';
import { issueSipCredentials } from './credentials.js';
import { RawSipClient, webRtcLikeSdp } from './test-support/raw-sip-client.js';
import { startTestPbx, type TestPbx } from './test-support/test-pbx.js';
import { UdpTrunkCaller } from './test-support/udp-caller.js';
import { waitFor } from './test-support/wait.js';

/**
 * The PBX's call events land in the real backend: calls to a rep's own SIP user, whose phone
 * is a plain SIP phone rather than the app, are in the backend's call log with their outcome.
 */
describe('call events reach the backend', () => {
  let t: TelephonyBackend;
  let pbx: TestPbx;
  const phones: RawSipClient[] = [];
  const callers: UdpTrunkCaller[] = [];

  beforeAll(async () => {
    t = await startTelephonyBackend('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    if (!address || typeof address === 'string') throw new Error('backend has no TCP address');
    pbx = await startTestPbx({ cti: { backendUrl: `http://127.0.0.1:${address.port}`, token: t.ctiToken, tenants: ['demo', 'other'] } });
  });
  afterEach(async () => {
    for (const caller of callers.splice(0)) caller.close();
    await Promise.all(phones.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await pbx?.stop();
    await t?.dispose();
  });

  async function deskPhone(sipUser: string): Promise<RawSipClient> {
    const phone = await RawSipClient.connect(pbx.wsUrl, { user: sipUser });
    phones.push(phone);
    expect((await phone.register({ credentials: issueSipCredentials({ secret: pbx.secret, user: sipUser, ttlSeconds: 300, now: new Date() }) })).status).toBe(200);
    return phone;
  }

  async function call(called: string, from: string): Promise<UdpTrunkCaller> {
    const caller = await UdpTrunkCaller.open(pbx.udpPort, from);
    callers.push(caller);
    caller.invite(called);
    return caller;
  }

  const callRows = (callId: string) =>
    telephonyDb(t.backend.handle.db)
      .selectFrom('calls')
      .select(['status', 'agent_id', 'from_number', 'to_number', 'answered_at', 'ended_at', 'direction'])
      .where('external_id', '=', callId)
      .execute();

  it('logs a call nobody answered at a rep\'s extension as missed for that rep', async () => {
    const { user } = await t.addAgent({ login: 'rep-desk', sipUser: 'rep-desk.demo' });
    const phone = await deskPhone('rep-desk.demo');
    const caller = await call('rep-desk.demo', '0355556666');
    const invite = await phone.waitForRequest('INVITE');
    phone.reply(invite, 180, 'Ringing');
    await caller.waitForResponse((r) => r.status === 180);
    phone.reply(invite, 486, 'Busy Here');
    expect((await caller.finalResponse()).status).toBe(486);
    const rows = await waitFor(() => callRows(caller.callId), (r) => r.some((row) => row.status === 'ended'), 'the missed call in the backend');
    expect(rows).toEqual([expect.objectContaining({ status: 'ended', agent_id: user.id, answered_at: null, direction: 'inbound' })]);
  });

  it('logs a call to a rep whose desk phone is not registered as missed for that rep', async () => {
    const { user } = await t.addAgent({ login: 'rep-away', sipUser: 'rep-away.demo' });
    const caller = await call('rep-away.demo', '0377779999');
    expect((await caller.finalResponse()).status).toBe(480);
    const rows = await waitFor(() => callRows(caller.callId), (r) => r.some((row) => row.status === 'ended'), 'the missed call in the backend');
    expect(rows).toEqual([expect.objectContaining({ status: 'ended', agent_id: user.id, answered_at: null })]);
  });

  it('logs an answered call at a rep\'s extension with its answer and end', async () => {
    const { user } = await t.addAgent({ login: 'rep-desk2', sipUser: 'rep-desk2.demo' });
    const phone = await deskPhone('rep-desk2.demo');
    const caller = await call('rep-desk2.demo', '0366667777');
    const invite = await phone.waitForRequest('INVITE');
    phone.reply(invite, 180, 'Ringing');
    phone.reply(invite, 200, 'OK', { sdp: webRtcLikeSdp('answer') });
    expect((await caller.finalResponse()).status).toBe(200);
    await phone.waitForRequest('ACK');
    caller.hangUp();
    await phone.waitForRequest('BYE');
    const rows = await waitFor(() => callRows(caller.callId), (r) => r.some((row) => row.status === 'ended'), 'the ended call in the backend');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'ended', agent_id: user.id });
    expect(rows[0]?.answered_at).not.toBeNull();
    expect(rows[0]?.ended_at).not.toBeNull();
  });
});
