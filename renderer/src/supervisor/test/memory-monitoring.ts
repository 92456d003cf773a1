import type { IpcHandlerTable, SessionInfo } from '../../../../shared/ipc.js';
import type { MONITOR_IPC_CHANNELS } from '../../../../shared/monitor-ipc.js';
import type { LiveCallView, MonitorSessionView } from '../../../../shared/monitoring.js';
import { mayMonitorCalls } from '../../../../shared/permissions.js';
import { CodedError } from '../../../../shared/result.js';

/** The monitoring channels of the memory core (renderer tests): sessions kept in memory. */
export class MemoryMonitoring {
  calls: LiveCallView[] = [];
  readonly sessions = new Map<string, MonitorSessionView>();
  /** Every start, switch and end, in order, as the backend would audit them. */
  readonly audit: string[] = [];
  visibleToOperator = true;
  #next = 1;

  constructor(private readonly options: { session: () => SessionInfo | null }) {}

  private supervisor(): SessionInfo {
    const session = this.options.session();
    if (!session) throw new CodedError('unauthenticated', 'not signed in');
    if (!mayMonitorCalls(session.user)) throw new CodedError('forbidden', 'only supervisors and admins may monitor calls');
    return session;
  }

  private session(id: string): MonitorSessionView {
    const found = this.sessions.get(id);
    if (!found) throw new CodedError('not_found', `no monitoring session ${id}`);
    return found;
  }

  readonly handlers: Pick<IpcHandlerTable, keyof typeof MONITOR_IPC_CHANNELS> = {
    'monitor:live': async () => {
      this.supervisor();
      const calls = this.calls.map((call) => {
        const own = [...this.sessions.values()].find((s) => s.callId === call.callId && s.active) ?? null;
        return { ...call, monitor: own };
      });
      return { calls, now: new Date().toISOString() };
    },
    'monitor:start': async ({ callId, mode }) => {
      const { user } = this.supervisor();
      const call = this.calls.find((c) => c.callId === callId);
      if (!call) throw new CodedError('not_found', `callId: no call ${callId}`);
      const id = `session-${this.#next++}`;
      const view: MonitorSessionView = {
        id,
        callId,
        sipCallId: call.sipCallId,
        mode,
        active: true,
        supervisorId: user.id,
        supervisorName: user.displayName,
        supervisorSipUser: null,
        agentId: call.agentId,
        agentName: call.agentName,
        agentSipUser: null,
        visibleToOperator: this.visibleToOperator,
        startedAt: new Date().toISOString(),
        endedAt: null,
        endReason: null,
      };
      this.sessions.set(id, view);
      this.audit.push(`start ${callId} ${mode}`);
      return view;
    },
    'monitor:switch': async ({ sessionId, mode }) => {
      this.supervisor();
      const view = { ...this.session(sessionId), mode };
      this.sessions.set(sessionId, view);
      this.audit.push(`switch ${view.callId} ${mode}`);
      return view;
    },
    'monitor:end': async ({ sessionId, reason }) => {
      const current = this.session(sessionId);
      if (!current.active) return current;
      const view = { ...current, active: false, endedAt: new Date().toISOString(), endReason: reason };
      this.sessions.set(sessionId, view);
      this.audit.push(`end ${view.callId} ${reason}`);
      return view;
    },
    'monitor:session': async ({ sessionId }) => this.session(sessionId),
  };
}
