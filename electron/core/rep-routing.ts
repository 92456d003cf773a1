import type { IpcHandlerTable, RepRoutingIpcChannel } from '../../shared/ipc.js';
import { REP_ROUTING_API, RepRoutingSettings } from '../../shared/rep-requests.js';
import type { BackendClient } from './backend-client.js';

const REQUEST_TIMEOUT_MS = 10_000;

/** Admins' "contact my rep" routing (coverage table, fallback, addresses, template). Online only; the backend checks the role. */
export function repRoutingHandlers(client: () => BackendClient): Pick<IpcHandlerTable, RepRoutingIpcChannel> {
  return {
    'repRouting:get': () => client().request('GET', REP_ROUTING_API.settings, RepRoutingSettings, { timeoutMs: REQUEST_TIMEOUT_MS }),
    'repRouting:save': (input) => client().request('PUT', REP_ROUTING_API.settings, RepRoutingSettings, { body: input, timeoutMs: REQUEST_TIMEOUT_MS, idempotent: true }),
  };
}
