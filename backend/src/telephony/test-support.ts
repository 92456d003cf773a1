import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ApiErrorBody, MAIL_API, type AgentStatus } from '../../../shared/api.js';
import type { Classification, User } from '../../../shared/domain.js';
import { buildApp } from '../app.js';
import type { TelephonyConfig } from '../config.js';
import type { SqlDialect } from '../db/database.js';
import { createUser } from '../testing/fixtures.js';
import { ctiTokenSha256 } from './cti-access.js';
import { startTestBackend, type TestBackend } from '../testing/harness.js';

/** A test backend whose app has telephony set up: a SIP secret and a CTI token. */
export interface TelephonyBackend {
  backend: TestBackend;
  /** The app with `telephony` configured (backend.app has neither secret nor token). */
  app: FastifyInstance;
  telephony: TelephonyConfig & { sipSecret: string };
  /** Token of the PBX `main-pbx`, which serves the tenants `demo` and `other`. */
  ctiToken: string;
  /** Token of the PBX `other-pbx`, which serves the tenant `other` only. */
  otherPbxToken: string;
  call(method: 'GET' | 'POST' | 'PUT', url: string, options?: { token?: string; cti?: string; body?: unknown }): Promise<LightMyRequestResponse>;
  /** `call` on a second app instance over the same database, as a second backend process would be. */
  callSecond(method: 'GET' | 'POST' | 'PUT', url: string, options?: { token?: string; cti?: string; body?: unknown }): Promise<LightMyRequestResponse>;
  /** A user of the demo tenant (or `tenantId`), logged in. */
  addAgent(spec: { login: string; tenantId?: string; tenantSlug?: string; sipUser?: string | null; customerLimitAuthority?: Classification; mayHandleUnregisteredCallers?: boolean }): Promise<{ user: User; token: string }>;
  setStatus(token: string, status: AgentStatus): Promise<void>;
  dispose(): Promise<void>;
}

export function errorMessage(response: LightMyRequestResponse): string {
  return ApiErrorBody.parse(response.json()).error.message;
}

export async function startTelephonyBackend(dialect: SqlDialect): Promise<TelephonyBackend> {
  const backend = await startTestBackend(dialect);
  const ctiToken = randomBytes(24).toString('base64url');
  const otherPbxToken = randomBytes(24).toString('base64url');
  const telephony = {
    sipSecret: randomBytes(24).toString('hex'),
    sipWsUrl: 'ws://127.0.0.1:5066',
    sipDomain: 'tsunagu.test',
    credentialTtlSeconds: 300,
    ctiPbxes: [
      { id: 'main-pbx', tenants: ['demo', 'other'], tokenSha256: ctiTokenSha256(ctiToken) },
      { id: 'other-pbx', tenants: ['other'], tokenSha256: ctiTokenSha256(otherPbxToken) },
    ],
  };
  const app = buildApp({ db: backend.handle, config: { ...backend.config, telephony } });
  const second = buildApp({ db: backend.handle, config: { ...backend.config, telephony } });
  await Promise.all([app.ready(), second.ready()]);
  const callOn = (instance: FastifyInstance): TelephonyBackend['call'] => (method, url, options = {}) => {
    const bearer = options.cti ?? options.token;
    return instance.inject({
      method,
      url,
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(options.body !== undefined ? { payload: options.body as object } : {}),
    });
  };
  const call = callOn(app);
  return {
    backend,
    app,
    telephony,
    ctiToken,
    otherPbxToken,
    call,
    callSecond: callOn(second),
    async addAgent(spec) {
      const user = await createUser(
        backend.handle,
        spec.tenantId ?? backend.demo.tenant.id,
        {
          login: spec.login,
          password: backend.demo.password,
          displayName: `担当 ${spec.login}`,
          customerLimitAuthority: spec.customerLimitAuthority ?? 3,
          mayHandleUnregisteredCallers: spec.mayHandleUnregisteredCallers ?? false,
          ...(spec.sipUser !== undefined ? { sipUser: spec.sipUser } : {}),
        },
        backend.config.argon2,
      );
      const token = await backend.login(spec.login, spec.tenantSlug ? { tenant: spec.tenantSlug } : {});
      return { user, token };
    },
    async setStatus(token, status) {
      const response = await call('PUT', MAIL_API.agentStatus, { token, body: { status } });
      if (response.statusCode !== 200) throw new Error(`status ${status}: ${response.statusCode} ${response.body}`);
    },
    async dispose() {
      await Promise.all([app.close(), second.close()]);
      await backend.dispose();
    },
  };
}
