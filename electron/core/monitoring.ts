import type { IpcHandlerTable } from '../../shared/ipc.js';
import type { MONITOR_IPC_CHANNELS } from '../../shared/monitor-ipc.js';
import { LiveCallsResponse, MONITORING_API, MonitorSessionView, monitorSessionPath } from '../../shared/monitoring.js';
import type { BackendClient } from './backend-client.js';

/**
 * Live monitoring (issue 11) in the core: a thin, online-only pass to the backend, which
 * authorises and audits every start, switch and stop. Nothing is cached: a session that the
 * backend cannot confirm must not be answered (the operator's app refuses the INVITE).
 */
export function monitoringHandlers(client: () => BackendClient): Pick<IpcHandlerTable, keyof typeof MONITOR_IPC_CHANNELS> {
  return {
    'monitor:live': () => client().request('GET', MONITORING_API.live, LiveCallsResponse),
    'monitor:start': (payload) => client().request('POST', MONITORING_API.sessions, MonitorSessionView, { body: payload }),
    'monitor:switch': (payload) =>
      client().request('PATCH', monitorSessionPath(payload.sessionId), MonitorSessionView, { body: { mode: payload.mode }, idempotent: true }),
    'monitor:end': (payload) =>
      client().request('POST', monitorSessionPath(payload.sessionId, true), MonitorSessionView, { body: { reason: payload.reason }, idempotent: true }),
    'monitor:session': (payload) => client().request('GET', monitorSessionPath(payload.sessionId), MonitorSessionView),
  };
}
