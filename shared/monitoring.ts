import { z } from 'zod';

/**
 * Live monitoring of operators' calls (issue 11): the REST contract between the supervisor's
 * app, the operator's app and the backend, and the SIP header that marks a monitoring call.
 *
 * A supervisor's app asks the backend to start a session (the backend authorises it and audits
 * it), then places a second SIP call to the operator's phone carrying MONITOR_HEADER with the
 * session id. The operator's app asks the backend whether that session is real and meant for it
 * before it answers without ringing, and mixes the audio (renderer/src/supervisor/monitor-mix.ts).
 */

export const MONITOR_HEADER = 'X-Tsunagu-Monitor';
/** Content type of the SIP INFO that carries a mode switch inside the monitoring call. */
export const MONITOR_INFO_CONTENT_TYPE = 'application/x-tsunagu-monitor';

export const MonitorMode = z.enum(['listen', 'whisper', 'barge']);
export type MonitorMode = z.infer<typeof MonitorMode>;

export const MonitorEndReason = z.enum(['stopped', 'call_ended', 'supervisor_lost', 'operator_lost']);
export type MonitorEndReason = z.infer<typeof MonitorEndReason>;

export const MONITORING_API = {
  live: '/api/monitoring/live',
  sessions: '/api/monitoring/sessions',
  session: '/api/monitoring/sessions/:id',
  sessionEnd: '/api/monitoring/sessions/:id/end',
  help: '/api/monitoring/help',
} as const;

export function monitorSessionPath(id: string, end = false): string {
  return `/api/monitoring/sessions/${encodeURIComponent(id)}${end ? '/end' : ''}`;
}

export const StartMonitorRequest = z.object({ callId: z.string().min(1).max(200), mode: MonitorMode });
export type StartMonitorRequest = z.infer<typeof StartMonitorRequest>;

export const SwitchMonitorRequest = z.object({ mode: MonitorMode });
export const EndMonitorRequest = z.object({ reason: MonitorEndReason });
export const HelpRequest = z.object({ callId: z.string().min(1).max(200) });

export const MonitorSessionView = z.object({
  id: z.string(),
  callId: z.string(),
  /** The SIP Call-ID of the operator's call with the customer. */
  sipCallId: z.string().nullable(),
  mode: MonitorMode,
  active: z.boolean(),
  supervisorId: z.string(),
  supervisorName: z.string(),
  /** The supervisor's SIP user: the operator's app checks the monitoring INVITE came from it. */
  supervisorSipUser: z.string().nullable(),
  agentId: z.string(),
  agentName: z.string(),
  /** Where the supervisor's app sends the monitoring call. */
  agentSipUser: z.string().nullable(),
  /** The tenant's choice: the operator's app shows "supervisor listening". */
  visibleToOperator: z.boolean(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  endReason: MonitorEndReason.nullable(),
});
export type MonitorSessionView = z.infer<typeof MonitorSessionView>;

export const LiveCallView = z.object({
  callId: z.string(),
  sipCallId: z.string().nullable(),
  agentId: z.string(),
  agentName: z.string(),
  /** The remote party's number as the call reported it. */
  remote: z.string(),
  /** Null when the call has no customer or the viewer may not see them. */
  customerId: z.string().nullable(),
  customerName: z.string().nullable(),
  answeredAt: z.string().nullable(),
  /** When the operator asked for a supervisor on this call; null when nobody asked. */
  helpRequestedAt: z.string().nullable(),
  /** The viewer's own running session on this call. */
  monitor: MonitorSessionView.nullable(),
});
export type LiveCallView = z.infer<typeof LiveCallView>;

export const LiveCallsResponse = z.object({ calls: z.array(LiveCallView), now: z.string() });
export type LiveCallsResponse = z.infer<typeof LiveCallsResponse>;

export const HelpRequestView = z.object({ id: z.string(), callId: z.string(), requestedAt: z.string() });
export type HelpRequestView = z.infer<typeof HelpRequestView>;

/**
 * The operator's own side of a help request, keyed by the SIP Call-ID their app knows (the
 * live view's `callId` is the backend's id of the call leg, which the operator's app never sees).
 * GET ?sipCallId= reads it; POST OwnHelpRequest asks (audited as `help_requested`, once per call).
 */
export const OWN_HELP_API = '/api/monitoring/own-help';
export const OwnHelpRequest = z.object({ sipCallId: z.string().trim().min(1).max(200) });
export type OwnHelpRequest = z.infer<typeof OwnHelpRequest>;
/**
 * `requested`: waiting for a supervisor; `joined`: a supervisor started monitoring the call
 * after the request; `ended`: the call is over; `none`: nobody asked.
 */
export const OwnHelpState = z.object({ state: z.enum(['none', 'requested', 'joined', 'ended']), requestedAt: z.string().nullable() });
export type OwnHelpState = z.infer<typeof OwnHelpState>;
