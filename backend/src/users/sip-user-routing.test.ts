import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API, AdminUser } from '../../../shared/admin.js';
import { SipCredentials } from '../../../shared/ipc.js';
import type { CtiEventResponse, CtiRouteResponse } from '../telephony/cti.js';
import { TELEPHONY_API } from '../telephony/routes.js';
import { startTelephonyBackend, type TelephonyBackend } from '../telephony/test-support.js';
import { DIALECTS } from '../testing/harness.js';

/**
 * An admin changes an agent's SIP user in the console: the PBX's routing asks the CTI route and
 * rings the new one at once, call events reported for the new one are the agent's, and the
 * agent's next SIP credentials register the new one. Through the CTI routes (a Kamailio call
 * would show the same thing: kamailio.cfg takes the targets' `sipUser` as they are answered).
 */
describe.each(DIALECTS)('a SIP user changed in the console, on %s', (dialect) => {
  let t: TelephonyBackend;
  let admin: string;
  let mover: { user: { id: string }; token: string };

  beforeAll(async () => {
    t = await startTelephonyBackend(dialect);
    admin = await t.backend.login('admin');
    mover = await t.addAgent({ login: 'mover' });
    await t.setStatus(mover.token, 'available');
  });
  afterAll(() => t?.dispose());

  const route = async (callId: string): Promise<CtiRouteResponse> => {
    const url = `${TELEPHONY_API.ctiRoute}?${new URLSearchParams({ tenant: 'demo', caller: '+81300000000', called: '0120000000', callId })}`;
    const response = await t.call('GET', url, { cti: t.ctiToken });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as CtiRouteResponse;
  };
  const report = async (body: Record<string, unknown>): Promise<CtiEventResponse> => {
    const response = await t.call('POST', TELEPHONY_API.ctiEvents, { cti: t.ctiToken, body: { tenant: 'demo', called: '0120000000', caller: '+81300000000', ...body } });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as CtiEventResponse;
  };
  const credentials = async () => {
    const response = await t.call('POST', TELEPHONY_API.sipCredentials, { token: mover.token, body: {} });
    expect(response.statusCode, response.body).toBe(200);
    return SipCredentials.parse(response.json());
  };

  it('routes the next call to the new SIP user, matches its events and issues credentials for it', async () => {
    expect((await route('before-change')).targets).toEqual([expect.objectContaining({ userId: mover.user.id, sipUser: 'mover.demo' })]);
    expect((await credentials()).aor).toBe(`sip:mover.demo@${t.telephony.sipDomain}`);
    await report({ callId: 'before-change', event: 'missed', agent: 'mover.demo' });

    const changed = await t.app.inject({
      method: 'PATCH',
      url: ADMIN_API.user.replace(':id', mover.user.id),
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      payload: { sipUser: '4001' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(AdminUser.parse(changed.json()).sipUser).toBe('4001');

    expect((await route('after-change')).targets).toEqual([expect.objectContaining({ userId: mover.user.id, sipUser: '4001' })]);
    expect(await report({ callId: 'after-change', event: 'ringing', agent: '4001' })).toMatchObject({ agentId: mover.user.id });
    // The old SIP user is nobody's now.
    expect(await report({ callId: 'old-phone', event: 'ringing', agent: 'mover.demo' })).toMatchObject({ agentId: null });
    const issued = await credentials();
    expect(issued.aor).toBe(`sip:4001@${t.telephony.sipDomain}`);
    expect(issued.username).toMatch(/:4001$/);
  });
});
