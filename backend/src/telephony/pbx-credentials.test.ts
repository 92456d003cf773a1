import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipCredentials } from '../../../shared/ipc.js';
import { RawSipClient } from '../../../pbx/test-support/raw-sip-client.js';
import { startTestPbx, type TestPbx } from '../../../pbx/test-support/test-pbx.js';
import { buildApp } from '../app.js';
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

  const credentialsOf = async (login: string): Promise<SipCredentials> => {
    const token = await backend.login(login);
    const response = await app.inject({ method: 'POST', url: TELEPHONY_API.sipCredentials, headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode, response.body).toBe(200);
    return SipCredentials.parse(response.json());
  };

  const connect = async (credentials: SipCredentials, user: string) => {
    const client = await RawSipClient.connect(credentials.wsUrl, { user, domain: 'tsunagu.test' });
    clients.push(client);
    return client;
  };

  it('registers the agent with the credentials the backend issued, and only as that agent', async () => {
    const credentials = await credentialsOf('agent');
    expect(credentials.wsUrl).toBe(pbx.wsUrl);
    const agent = await connect(credentials, 'agent');
    expect((await agent.register({ credentials })).status).toBe(200);

    const impostor = await connect(credentials, 'osaka');
    expect((await impostor.register({ credentials })).status).toBe(403);
  });
});
