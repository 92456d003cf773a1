import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipCredentials } from '../../../shared/ipc.js';
import { RawSipClient } from '../../../pbx/test-support/raw-sip-client.js';
import { startTestPbx, type TestPbx } from '../../../pbx/test-support/test-pbx.js';
import { buildApp } from '../app.js';
import { createDemoTenant } from '../testing/fixtures.js';
import { startTestBackend, type TestBackend } from '../testing/harness.js';
import { TELEPHONY_API } from './routes.js';

/** Credentials as the backend issues them, checked by the real dev PBX (Kamailio + autheph). */
describe('SIP credentials against the dev PBX', () => {
  let backend: TestBackend;
  let pbx: TestPbx;
  let app: FastifyInstance;
  const clients: RawSipClient[] = [];

  beforeAll(async () => {
    [backend, pbx] = await Promise.all([startTestBackend('sqlite'), startTestPbx()]);
    // A second tenant with the same logins (agent, admin, …), as a provider's PBX serves several.
    await createDemoTenant(backend.handle, backend.config.argon2, { slug: 'other', name: 'Other Center' });
    app = buildApp({
      db: backend.handle,
      config: {
        ...backend.config,
        telephony: { sipSecret: pbx.secret, sipWsUrl: pbx.wsUrl, sipDomain: 'tsunagu.test', credentialTtlSeconds: 120, ctiPbxes: [] },
      },
    });
    await app.ready();
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await app?.close();
    await pbx?.stop();
    await backend?.dispose();
  });

  const credentialsOf = async (login: string, tenant?: string): Promise<SipCredentials> => {
    const token = await backend.login(login, tenant ? { tenant } : {});
    const response = await app.inject({ method: 'POST', url: TELEPHONY_API.sipCredentials, headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode, response.body).toBe(200);
    return SipCredentials.parse(response.json());
  };

  const connect = async (credentials: SipCredentials, user: string) => {
    const client = await RawSipClient.connect(credentials.wsUrl, { user, domain: 'tsunagu.test' });
    clients.push(client);
    return client;
  };

  const sipUserOf = (credentials: SipCredentials) => /^sip:([^@]+)@/.exec(credentials.aor)![1]!;

  it('registers the agent with the credentials the backend issued, and only as that agent', async () => {
    const credentials = await credentialsOf('agent');
    expect(credentials.wsUrl).toBe(pbx.wsUrl);
    const agent = await connect(credentials, sipUserOf(credentials));
    expect((await agent.register({ credentials })).status).toBe(200);

    const impostor = await connect(credentials, sipUserOf(await credentialsOf('osaka')));
    expect((await impostor.register({ credentials })).status).toBe(403);
  });

  it('keeps two tenants\' same-login agents apart: the other tenant\'s credentials neither register nor call as ours', async () => {
    const ours = await credentialsOf('agent');
    const theirs = await credentialsOf('agent', 'other');
    expect(ours.aor).toBe('sip:agent.demo@tsunagu.test');
    expect(theirs.aor).toBe('sip:agent.other@tsunagu.test');
    expect(theirs.username).not.toBe(ours.username);
    expect(theirs.password).not.toBe(ours.password);

    // Their credentials presented for our AOR, and for the bare login everybody shared before.
    for (const user of [sipUserOf(ours), 'agent']) {
      const squatter = await connect(theirs, user);
      expect((await squatter.register({ credentials: theirs })).status, user).toBe(403);
    }

    const caller = await connect(theirs, sipUserOf(theirs));
    const disguised = await caller.invite('sip:nobody.demo@tsunagu.test', { credentials: theirs, fromUser: sipUserOf(ours) });
    expect(disguised.response.status).toBe(403);
    expect(disguised.response.reason).toMatch(/From User Does Not Match/);
    // As themselves they pass authentication; nobody is registered there, hence 480.
    const honest = await caller.invite('sip:nobody.demo@tsunagu.test', { credentials: theirs });
    expect(honest.response.status).toBe(480);
  });
});
