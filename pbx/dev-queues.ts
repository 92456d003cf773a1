/**
 * The queue numbers the dev PBX routes through the backend for the seeded tenants, shared by
 * `npm start`, `npm run call -- --queue` and the e2e stack, so that they all dial the same
 * number. The fallback group is who rings when the backend cannot decide in time.
 */
import { tenantSipUser } from '../shared/sip-identity.js';
import type { CtiOptions } from './pbx.js';

export const DEV_QUEUE_NUMBERS: Readonly<Record<string, string>> = { demo: '0120555001', other: '0120555002' };

const FALLBACK_LOGINS: Readonly<Record<string, readonly string[]>> = {
  demo: ['agent1', 'agent2', 'super1'],
  other: ['agent1'],
};

export function devQueues(ringSeconds = 20): NonNullable<CtiOptions['queues']> {
  return Object.entries(DEV_QUEUE_NUMBERS).map(([tenant, number]) => ({
    number,
    tenant,
    fallback: (FALLBACK_LOGINS[tenant] ?? []).flatMap((login) => tenantSipUser(login, tenant) ?? []),
    ringSeconds,
  }));
}
