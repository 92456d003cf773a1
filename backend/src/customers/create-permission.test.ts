import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../../../shared/api.js';
import type { Role } from '../../../shared/domain.js';
import { mayCreateCustomerFromCall } from '../../../shared/permissions.js';
import { createUser } from '../testing/fixtures.js';
import { DIALECTS, startTestBackend, type TestBackend } from '../testing/harness.js';

/**
 * One table of "may create a customer" cases, run against the app's rule (the unknown caller's
 * panel and the wrap-up offer the button by `mayCreateCustomerFromCall`) and against the
 * server's POST /api/customers. Both must agree on every row.
 */
const CASES: { role: Role; mayHandleUnregisteredCallers: boolean; mayCreate: boolean }[] = [
  { role: 'agent', mayHandleUnregisteredCallers: false, mayCreate: false },
  { role: 'agent', mayHandleUnregisteredCallers: true, mayCreate: true },
  { role: 'supervisor', mayHandleUnregisteredCallers: false, mayCreate: false },
  { role: 'supervisor', mayHandleUnregisteredCallers: true, mayCreate: true },
  { role: 'admin', mayHandleUnregisteredCallers: false, mayCreate: true },
  { role: 'admin', mayHandleUnregisteredCallers: true, mayCreate: true },
];

const rights = (c: (typeof CASES)[number]) => ({ role: c.role, branch: null, customerLimitAuthority: 1 as const, mayHandleUnregisteredCallers: c.mayHandleUnregisteredCallers });

describe('may create a customer, in the app', () => {
  it.each(CASES)('$role with may-handle-unregistered=$mayHandleUnregisteredCallers → $mayCreate', (c) => {
    expect(mayCreateCustomerFromCall(rights(c))).toBe(c.mayCreate);
  });
});

describe.each(DIALECTS)('may create a customer, on the server (%s)', (dialect) => {
  let backend: TestBackend;
  beforeAll(async () => {
    backend = await startTestBackend(dialect);
  });
  afterAll(() => backend?.dispose());

  it.each(CASES.map((c, index) => ({ ...c, index })))('$role with may-handle-unregistered=$mayHandleUnregisteredCallers → $mayCreate', async (c) => {
    const login = `creator-${c.index}`;
    await createUser(backend.handle, backend.demo.tenant.id, { login, password: backend.demo.password, ...rights(c) }, backend.config.argon2);
    const token = await backend.login(login);
    const response = await backend.send('POST', API.customers, { code: `CREATE-${c.index}`, name: '新規 顧客' }, token);
    expect(response.statusCode, response.body).toBe(c.mayCreate ? 201 : 403);
    // The server's rule and the app's are one function: the same answer for the same user.
    expect(response.statusCode === 201).toBe(mayCreateCustomerFromCall(rights(c)));
  });
});
