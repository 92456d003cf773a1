import { z } from 'zod';
import { LiveCallsResponse, MonitorEndReason, MonitorMode, MonitorSessionView, StartMonitorRequest } from './monitoring.js';

/**
 * IPC channels of live monitoring (issue 11), spread into IPC_CHANNELS: the core passes each to
 * the backend's monitoring routes (electron/core/monitoring.ts); the backend decides who may.
 */

const SessionRef = z.object({ sessionId: z.string().min(1).max(200) });

export const MONITOR_IPC_CHANNELS = {
  /** Supervisors: the connected calls of the tenant with help requests and my running session. */
  'monitor:live': { request: z.undefined().or(z.null()).or(z.object({}).strict()), result: LiveCallsResponse },
  /** Supervisors: starts (audited) a session on a connected call. */
  'monitor:start': { request: StartMonitorRequest, result: MonitorSessionView },
  /** Supervisors: listen / whisper / barge (audited). */
  'monitor:switch': { request: SessionRef.extend({ mode: MonitorMode }), result: MonitorSessionView },
  /** The supervisor or the monitored operator ends a session (audited with its reason). */
  'monitor:end': { request: SessionRef.extend({ reason: MonitorEndReason }), result: MonitorSessionView },
  /** The operator's app checks a monitoring INVITE against the server before answering it. */
  'monitor:session': { request: SessionRef, result: MonitorSessionView },
} as const;
