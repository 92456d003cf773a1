import { create } from 'zustand';
import type { MonitorEndReason, MonitorMode, MonitorSessionView } from '../../../shared/monitoring.js';
import { invoke } from '../api.js';
import { useAudioStore } from '../phone/audio-devices.js';
import type { CallMedia, IncomingMonitor, MonitorLeg } from '../phone/engine.js';
import { currentPhoneEngine, setMonitorInviteHandler, usePhoneStore } from '../stores/phone.js';
import { useSessionStore } from '../stores/session.js';
import { OperatorMonitorMix } from './monitor-mix.js';

/**
 * The operator's side of live monitoring (issue 11). A monitoring INVITE is answered without
 * ringing only when the backend confirms the session: running, on this operator, placed by the
 * supervisor whose phone sent the INVITE, on a call this phone has connected. Anything else is
 * refused with 403. While it runs, the customer's call sends the mixer's output
 * (monitor-mix.ts), which the phone keeps driving (mute, device changes); when it ends, for
 * whatever reason, the call gets its microphone back.
 *
 * Important: nothing here may end the customer's call. A supervisor whose page closed sends no
 * BYE; their leg goes quiet, and after SUPERVISOR_SILENT_MS without a packet the leg is dropped
 * and the backend's session ends as `supervisor_lost`.
 */

const LIVENESS_CHECK_MS = 1_000;
export const SUPERVISOR_SILENT_MS = 5_000;

export interface MonitoredState {
  /** The running session on one of this operator's calls (verified with the backend). */
  session: MonitorSessionView | null;
  /** How the last session ended, shown when the tenant lets operators see monitoring. */
  ended: { reason: MonitorEndReason; supervisorName: string; visible: boolean } | null;
  dismiss(): void;
}

export const useMonitoredStore = create<MonitoredState>()((set) => ({
  session: null,
  ended: null,
  dismiss: () => set({ ended: null }),
}));

interface Running {
  sessionId: string;
  leg: MonitorLeg;
  callId: string;
  media: CallMedia | null;
  mix: OperatorMonitorMix | null;
  liveness: ReturnType<typeof setInterval> | null;
  unsubscribe: () => void;
  finished: boolean;
}

let running: Running | null = null;

/** Verifies an INVITE's session with the backend: null when it must be refused. */
async function verify(invite: IncomingMonitor): Promise<{ session: MonitorSessionView; callId: string } | null> {
  const me = useSessionStore.getState().session?.user.id;
  if (!me || !/^[A-Za-z0-9-]{1,200}$/.test(invite.sessionId)) return null;
  const result = await invoke('monitor:session', { sessionId: invite.sessionId });
  if (!result.ok) return null;
  const session = result.value;
  if (!session.active || session.agentId !== me) return null;
  if (session.supervisorSipUser === null || session.supervisorSipUser !== invite.fromUser) return null;
  const call = usePhoneStore.getState().calls.find((c) => c.sipCallId === session.sipCallId && (c.state === 'connected' || c.state === 'held'));
  return call ? { session, callId: call.id } : null;
}

/** Verifies a monitoring INVITE and answers or refuses it (exported for tests). */
export async function onMonitorInvite(invite: IncomingMonitor): Promise<void> {
  if (running) {
    invite.reject(486);
    return;
  }
  const verified = await verify(invite).catch(() => null);
  if (!verified || running) {
    console.warn(`refused a monitoring call that the backend did not confirm (session ${invite.sessionId.slice(0, 64)})`);
    invite.reject(403);
    return;
  }
  const { session, callId } = verified;
  const leg = invite.accept();
  const state: Running = {
    sessionId: session.id,
    leg,
    callId,
    media: null,
    mix: null,
    liveness: null,
    unsubscribe: () => undefined,
    finished: false,
  };
  running = state;
  useMonitoredStore.setState({ session, ended: null });
  leg.onEnded = (reason) => void finish(state, reason === 'hangup' ? null : 'supervisor_lost');
  leg.onModeInfo = () => void refreshMode(state);
  // The customer's call ended: the monitoring ends with it.
  state.unsubscribe = usePhoneStore.subscribe((phone) => {
    const call = phone.calls.find((c) => c.id === callId);
    if (!call || call.state === 'ended') void finish(state, 'call_ended');
  });
  try {
    await leg.established;
  } catch {
    return finish(state, 'supervisor_lost');
  }
  if (state.finished) return;
  startMixing(state, session.mode);
  watchSupervisor(state);
}

function startMixing(state: Running, mode: MonitorMode): void {
  const media = currentPhoneEngine()?.monitor?.callMedia(state.callId) ?? null;
  const supervisor = state.leg.remoteStream();
  if (!media || !media.microphone || !supervisor) {
    void finish(state, 'stopped');
    return;
  }
  state.media = media;
  const mix = new OperatorMonitorMix({
    microphone: media.microphone,
    customer: media.remoteStream,
    supervisor,
    speakerId: useAudioStore.getState().resolved.speaker?.deviceId ?? null,
  });
  state.mix = mix;
  mix.setMode(mode);
  // The phone applies the call's mute and hold to the mix as it attaches it.
  void media.attachMix(mix).catch((error: unknown) => console.warn('could not send the monitoring mix on the call', error));
  void state.leg.replaceOutgoingTrack(mix.toSupervisor);
}

/** The supervisor's page can vanish without a BYE: a leg with no packets for a while is dead. */
function watchSupervisor(state: Running): void {
  let last = -1;
  let silentSince = Date.now();
  state.liveness = setInterval(() => {
    void state.leg.packetsReceived().then((packets) => {
      if (packets !== last) {
        last = packets;
        silentSince = Date.now();
      } else if (Date.now() - silentSince >= SUPERVISOR_SILENT_MS) {
        void finish(state, 'supervisor_lost');
      }
    });
  }, LIVENESS_CHECK_MS);
}

/** An INFO says the mode changed: the backend's session decides what it is now. */
async function refreshMode(state: Running): Promise<void> {
  const result = await invoke('monitor:session', { sessionId: state.sessionId });
  if (state.finished || !result.ok) return;
  if (!result.value.active) {
    void finish(state, null);
    return;
  }
  state.mix?.setMode(result.value.mode);
  useMonitoredStore.setState({ session: result.value });
}

/**
 * Ends the monitoring on this side: the call gets its microphone back, the leg is dropped, and
 * the backend hears why (a session the supervisor already stopped stays as it ended).
 */
async function finish(state: Running, reason: MonitorEndReason | null): Promise<void> {
  if (state.finished) return;
  state.finished = true;
  if (running === state) running = null;
  if (state.liveness) clearInterval(state.liveness);
  state.unsubscribe();
  if (state.media && state.mix) {
    await state.media.attachMix(null).catch((error: unknown) => console.warn('could not give the call its microphone back', error));
  }
  state.mix?.close();
  await state.leg.hangup().catch(() => undefined);
  const shown = useMonitoredStore.getState().session;
  const result = await invoke('monitor:end', { sessionId: state.sessionId, reason: reason ?? 'stopped' });
  const ended = result.ok ? result.value : shown;
  useMonitoredStore.setState({
    session: null,
    ended: ended ? { reason: ended.endReason ?? reason ?? 'stopped', supervisorName: ended.supervisorName, visible: ended.visibleToOperator } : null,
  });
}

/** Takes monitoring INVITEs from the phone; called once at start-up. */
export function installMonitoredCalls(): void {
  setMonitorInviteHandler((invite) => void onMonitorInvite(invite));
}
