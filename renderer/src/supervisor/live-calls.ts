import { create } from 'zustand';
import type { LiveCallView, MonitorEndReason, MonitorMode } from '../../../shared/monitoring.js';
import type { AppError } from '../../../shared/result.js';
import { invoke, onCoreEvent } from '../api.js';
import { routeToDevice, useAudioStore } from '../phone/audio-devices.js';
import { PhoneError, type MonitorLeg } from '../phone/engine.js';
import { currentPhoneEngine } from '../stores/phone.js';

/**
 * The supervisor's side of live monitoring (issue 11): the connected calls of the tenant (the
 * backend's live list, fetched again whenever the backend pushes the live view's summary) and
 * the one monitoring session this supervisor runs. Starting asks the backend (which authorises
 * and audits), then calls the operator's phone with the session id in MONITOR_HEADER; a switch
 * is sent to the backend first and then to the operator's app as SIP INFO; Stop ends the session
 * on the backend before the BYE, so the operator's app never mistakes it for a lost supervisor.
 */

export type MonitorPhase = 'starting' | 'connecting' | 'connected';

export interface ActiveMonitor {
  sessionId: string;
  callId: string;
  agentName: string;
  mode: MonitorMode;
  phase: MonitorPhase;
}

export type MonitorProblem =
  | { kind: 'error'; error: AppError }
  | { kind: 'ended'; reason: MonitorEndReason | 'not_connected'; agentName: string };

interface LiveCallsState {
  calls: LiveCallView[];
  /** The backend's clock minus ours, so durations are the backend's. */
  clockOffsetMs: number;
  loaded: boolean;
  error: AppError | null;
  monitor: ActiveMonitor | null;
  problem: MonitorProblem | null;
  load(): Promise<void>;
  /** Listen / whisper / barge on a call: starts a session, or switches the running one. */
  choose(callId: string, mode: MonitorMode): Promise<void>;
  stop(): Promise<void>;
  dismissProblem(): void;
}

let leg: MonitorLeg | null = null;
let earpiece: HTMLAudioElement | null = null;
let loading: Promise<void> | null = null;
let loadAgain = false;

function errorOf(error: unknown): AppError {
  if (error instanceof PhoneError) return { code: error.code === 'not_registered' ? 'offline' : 'internal', message: error.message };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}

function releaseMedia(): void {
  if (earpiece) {
    earpiece.pause();
    earpiece.srcObject = null;
    earpiece = null;
  }
  leg = null;
}

/** The supervisor hears the operator's mix (customer + operator) on their chosen speaker. */
function playOperatorMix(current: MonitorLeg): void {
  const stream = current.remoteStream();
  if (!stream) return;
  const element = new Audio();
  earpiece = element;
  element.autoplay = true;
  element.srcObject = stream;
  void routeToDevice(element, useAudioStore.getState().resolved.speaker?.deviceId ?? null).then(() =>
    element.play().catch((error: unknown) => console.warn('the monitored call did not start playing', error)),
  );
}

export const useLiveCallsStore = create<LiveCallsState>()((set, get) => ({
  calls: [],
  clockOffsetMs: 0,
  loaded: false,
  error: null,
  monitor: null,
  problem: null,

  async load() {
    // Pushes come in bursts: one request at a time, and one more after it if asked meanwhile.
    if (loading) {
      loadAgain = true;
      return loading;
    }
    loading = (async () => {
      do {
        loadAgain = false;
        const result = await invoke('monitor:live', undefined);
        if (result.ok) set({ calls: result.value.calls, clockOffsetMs: Date.parse(result.value.now) - Date.now(), loaded: true, error: null });
        else set({ error: result.error, loaded: true });
      } while (loadAgain);
    })();
    try {
      await loading;
    } finally {
      loading = null;
    }
  },

  async choose(callId, mode) {
    const current = get().monitor;
    if (current && current.callId === callId) {
      if (current.mode === mode || current.phase === 'starting') return;
      const result = await invoke('monitor:switch', { sessionId: current.sessionId, mode });
      if (!result.ok) {
        set({ problem: { kind: 'error', error: result.error } });
        return;
      }
      set({ monitor: { ...current, mode } });
      leg?.setMicrophoneEnabled(mode !== 'listen');
      await leg?.sendMode(mode).catch((error: unknown) => console.warn('the mode switch did not reach the operator', error));
      return;
    }
    if (current) await get().stop();
    const call = get().calls.find((c) => c.callId === callId);
    set({ monitor: { sessionId: '', callId, agentName: call?.agentName ?? '', mode, phase: 'starting' }, problem: null });
    const engine = currentPhoneEngine();
    if (!engine?.monitor) {
      set({ monitor: null, problem: { kind: 'error', error: { code: 'offline', message: 'the phone is not connected' } } });
      return;
    }
    const started = await invoke('monitor:start', { callId, mode });
    if (!started.ok) {
      set({ monitor: null, problem: { kind: 'error', error: started.error } });
      return;
    }
    const session = started.value;
    const monitor: ActiveMonitor = { sessionId: session.id, callId, agentName: session.agentName, mode, phase: 'connecting' };
    set({ monitor });
    if (session.agentSipUser === null) {
      await invoke('monitor:end', { sessionId: session.id, reason: 'stopped' });
      set({ monitor: null, problem: { kind: 'ended', reason: 'not_connected', agentName: session.agentName } });
      return;
    }
    let placed: MonitorLeg;
    try {
      placed = engine.monitor.placeMonitorCall(`sip:${session.agentSipUser}@${engine.domain}`, session.id);
    } catch (error) {
      await invoke('monitor:end', { sessionId: session.id, reason: 'stopped' });
      set({ monitor: null, problem: { kind: 'error', error: errorOf(error) } });
      return;
    }
    leg = placed;
    placed.setMicrophoneEnabled(mode !== 'listen');
    placed.onEnded = (reason) => {
      if (leg !== placed) return;
      releaseMedia();
      const ending = get().monitor;
      set({ monitor: null });
      if (reason === 'hangup') return;
      // The operator's app ended it (the call ended) or refused it; the backend knows why.
      void invoke('monitor:session', { sessionId: session.id }).then((result) => {
        const why = result.ok && result.value.endReason ? result.value.endReason : 'not_connected';
        if (result.ok && result.value.active) void invoke('monitor:end', { sessionId: session.id, reason: 'operator_lost' });
        set({ problem: { kind: 'ended', reason: result.ok && result.value.active ? 'operator_lost' : why, agentName: ending?.agentName ?? session.agentName } });
        void get().load();
      });
    };
    try {
      await placed.established;
    } catch {
      return;
    }
    if (leg !== placed) return;
    playOperatorMix(placed);
    const now = get().monitor;
    if (now?.sessionId === session.id) set({ monitor: { ...now, phase: 'connected' } });
  },

  async stop() {
    const current = get().monitor;
    if (!current) return;
    const stopping = leg;
    releaseMedia();
    set({ monitor: null });
    if (current.sessionId !== '') {
      const result = await invoke('monitor:end', { sessionId: current.sessionId, reason: 'stopped' });
      if (!result.ok) set({ problem: { kind: 'error', error: result.error } });
    }
    await stopping?.hangup().catch(() => undefined);
    void get().load();
  },

  dismissProblem() {
    set({ problem: null });
  },
}));

/** Keeps the list current: the backend pushes the live view whenever calls change. */
export function followLiveCalls(): () => void {
  void useLiveCallsStore.getState().load();
  return onCoreEvent('supervisor:summary', () => void useLiveCallsStore.getState().load());
}
