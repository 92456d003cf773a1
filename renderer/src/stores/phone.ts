import { create } from 'zustand';
import type { AgentStatus } from '../../../shared/api.js';
import type { AgentStatusState, CallEventInput, TelephonySettings } from '../../../shared/ipc.js';
import { mayCreateCustomerFromCall } from '../../../shared/permissions.js';
import type { AppError } from '../../../shared/result.js';
import { invoke } from '../api.js';
import { useWorkAreaStore } from '../mail/stores/work-area.js';
import { formatPhone } from '../format.js';
import { i18n } from '../i18n/index.js';
import { useAudioStore } from '../phone/audio-devices.js';
import { callerLabel, type CallerIdentity } from '../phone/caller-identity.js';
import { availableActions, createCall, isLive, transition, type Call, type CallEvent } from '../phone/call-machine.js';
import { parseDialTarget } from '../phone/dial-target.js';
import { PhoneError, type ArrivingCall, type EngineFactory, type EngineListener, type IncomingCall, type IncomingDecision, type IncomingMonitor, type PhoneEngine } from '../phone/engine.js';
import { useCallHistoryStore } from '../history/store.js';
import { askNotificationPermission, closeCallNotification, notifyIncomingCall, notifyMissedCall } from '../phone/notifications.js';
import { applyRegistrationEvent, initialRegistration, type Registration } from '../phone/registration-machine.js';
import { popPending, popSettled, resetPopHold } from '../phone/pop-hold.js';
import { Ringer } from '../phone/ringer.js';
import { afterNextPaint } from '../phone/screen-pop-marks.js';
import { useCustomerStore } from './customer.js';
import { useScreenPopStore, type Pop } from './screen-pop.js';
import { useSessionStore } from './session.js';
import { setWrapUpQueueEmptiedHandler, useWrapUpStore } from './wrap-up.js';

/**
 * The softphone's state for the UI, and the decisions the SIP engine leaves to the app:
 * ring or refuse (486 when the operator is not available), which call to hold when another
 * is answered, what to show in the customer panel, when after-call work ends. Driven by the
 * engine's events; the UI renders this store and calls its actions.
 */

/** What the operator chooses; `on_call` is shown as "busy". After-call work also starts by itself. */
export const OPERATOR_STATUSES = ['available', 'on_call', 'after_call_work', 'break'] as const;
export type OperatorStatus = (typeof OPERATOR_STATUSES)[number];

/** One conversation plus one waiting call (or a consultation); a third caller gets 486. */
export const MAX_LIVE_CALLS = 2;

export type PhonePhase = 'off' | 'starting' | 'on' | 'unavailable';
export type RingtoneState = 'off' | 'ringing' | 'soft' | 'blocked';

export interface PhoneProblem {
  code: 'invalid_target' | 'not_registered' | 'refused' | 'media' | 'failed' | 'no_such_call' | 'busy_elsewhere' | 'call_not_recorded';
  message: string;
  /** Offered as a Retry button: the action that failed, again. */
  retry?: () => void;
}

interface PhoneState {
  phase: PhonePhase;
  /** Why the phone is unavailable (no SIP account, backend unreachable at start). */
  startError: AppError | null;
  registration: Registration;
  extension: string | null;
  settings: TelephonySettings | null;
  /** Live calls in the order they began. */
  calls: Call[];
  /** The call whose customer the main panel shows. */
  focusedCallId: string | null;
  status: OperatorStatus;
  /**
   * Whether the server has the status (the core's view, `agent:status`): unconfirmed while it
   * cannot be reached, with the server's refusal when it refused. Null before the first.
   */
  statusSync: AgentStatusState | null;
  /** When after-call work ends by itself. */
  afterCallWorkEndsAt: string | null;
  ringtone: RingtoneState;
  problem: PhoneProblem | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  answer(id: string): Promise<void>;
  decline(id: string): Promise<void>;
  hangup(id: string): Promise<void>;
  toggleHold(id: string): Promise<void>;
  toggleMute(id: string): void;
  sendDtmf(id: string, digit: string): Promise<void>;
  dial(input: string, customerId?: string | null): Promise<boolean>;
  blindTransfer(id: string, input: string): Promise<boolean>;
  startConsultation(id: string, input: string): Promise<boolean>;
  completeTransfer(consultId: string): Promise<void>;
  setStatus(status: OperatorStatus): void;
  /** Sends the current status again after the server refused it. */
  retryStatus(): void;
  /** The core reports what became of the status (confirmed, still waiting, refused). */
  statusSynced(state: AgentStatusState): void;
  focus(id: string): void;
  unlockSound(): Promise<void>;
  /** After a devicechange or a new choice in the settings: move calls and the ringtone. */
  audioDevicesChanged(): Promise<void>;
  /** The computer woke from sleep or was unlocked (Electron's powerMonitor). */
  recoverConnection(): void;
  dismissProblem(): void;
}

const DEFAULT_SETTINGS: Omit<TelephonySettings, 'defaultRegion'> = {
  dispositions: [],
  customerIdHeader: 'X-Customer-Id',
  afterCallWorkSeconds: 120,
  dtmfMode: 'rfc4733',
  ringSeconds: 15,
};
/** The backend cannot issue credentials right now (offline at start): ask again this much later. */
const START_RETRY_MS = 10_000;

let engineFactory: EngineFactory | null = null;
let engine: PhoneEngine | null = null;
/** Bumped by stop(): a start() that finishes after a stop() gives up. */
let generation = 0;
let startRetry: ReturnType<typeof setTimeout> | null = null;
let afterCallWorkTimer: ReturnType<typeof setTimeout> | null = null;
let publishedStatus: AgentStatus | null = null;
const ringer = new Ringer();

/** The app installs the sip.js engine at start-up; renderer tests install a scripted one. */
export function installPhoneEngine(factory: EngineFactory | null): void {
  engineFactory = factory;
}

const initialState = {
  phase: 'off' as PhonePhase,
  startError: null,
  registration: initialRegistration(new Date(0).toISOString()),
  extension: null,
  settings: null,
  calls: [] as Call[],
  focusedCallId: null,
  status: 'available' as OperatorStatus,
  statusSync: null as AgentStatusState | null,
  afterCallWorkEndsAt: null,
  ringtone: 'off' as RingtoneState,
  problem: null,
};

function now(): string {
  return new Date().toISOString();
}

function region(): string {
  return usePhoneStore.getState().settings?.defaultRegion ?? useSessionStore.getState().session?.tenant.defaultRegion ?? 'JP';
}

function remoteOf(call: Pick<Call, 'identity' | 'target'>): string {
  return (call.identity.e164 ?? call.identity.user ?? call.target ?? '').slice(0, 100);
}

export function describeCaller(identity: CallerIdentity): string {
  return callerLabel(identity, (e164) => formatPhone(e164, region()));
}

function problemFrom(error: unknown): PhoneProblem {
  if (error instanceof PhoneError) return { code: error.code, message: error.message };
  return { code: 'failed', message: error instanceof Error ? error.message : String(error) };
}

function findCall(id: string): Call | undefined {
  return usePhoneStore.getState().calls.find((call) => call.id === id);
}

function updateCall(id: string, event: CallEvent): Call | null {
  const call = findCall(id);
  if (!call) return null;
  const next = transition(call, event);
  if (next === call) return null;
  usePhoneStore.setState((state) => ({ calls: state.calls.map((c) => (c.id === id ? next : c)) }));
  return next;
}

function sendCallEvent(call: Call, event: CallEventInput['event'], extra: Partial<CallEventInput> = {}): void {
  const pop = useScreenPopStore.getState().pops[call.id];
  const customerId = pop?.detail?.customer.id ?? null;
  recordCallEvent({
    callId: call.sipCallId,
    event,
    direction: call.direction,
    remote: remoteOf(call),
    customerId,
    at: now(),
    ...extra,
  });
}

/**
 * The core queues call events until the backend has them, so a failure here is the core
 * refusing this one: the operator sees it and may send it again.
 */
function recordCallEvent(input: CallEventInput): void {
  void invoke('calls:event', input).then((result) => {
    if (result.ok) return;
    usePhoneStore.setState({ problem: { code: 'call_not_recorded', message: result.error.message, retry: () => recordCallEvent(input) } });
  });
}

/** What the backend sees: a connected operator who chose "available" is on a call. */
function effectiveStatus(): AgentStatus {
  const { status, calls } = usePhoneStore.getState();
  if (status !== 'available') return status;
  return calls.some((call) => call.state === 'connected' || call.state === 'held' || call.state === 'transferring') ? 'on_call' : 'available';
}

/**
 * The core keeps the latest status until the server has it (offline too) and reports what
 * became of it; an error here means the core itself did not take it, which the status
 * control shows with a Retry.
 */
function publishStatus(): void {
  if (usePhoneStore.getState().phase !== 'on') return;
  const status = effectiveStatus();
  if (status === publishedStatus) return;
  publishedStatus = status;
  const chosenAt = now();
  void invoke('agent:setStatus', { status }).then((result) => {
    if (result.ok) {
      if (result.value.changedAt >= (usePhoneStore.getState().statusSync?.changedAt ?? '')) usePhoneStore.setState({ statusSync: result.value });
      return;
    }
    publishedStatus = null;
    usePhoneStore.setState({ statusSync: { status, changedAt: chosenAt, confirmed: false, error: result.error } });
  });
}

function clearAfterCallWork(): void {
  if (afterCallWorkTimer) clearTimeout(afterCallWorkTimer);
  afterCallWorkTimer = null;
  usePhoneStore.setState({ afterCallWorkEndsAt: null });
}

function startAfterCallWork(): void {
  const seconds = usePhoneStore.getState().settings?.afterCallWorkSeconds ?? DEFAULT_SETTINGS.afterCallWorkSeconds;
  if (seconds <= 0) return;
  clearAfterCallWork();
  usePhoneStore.setState({ status: 'after_call_work', afterCallWorkEndsAt: new Date(Date.now() + seconds * 1000).toISOString() });
  afterCallWorkTimer = setTimeout(endAfterCallWork, seconds * 1000);
  publishStatus();
}

function endAfterCallWork(): void {
  clearAfterCallWork();
  if (usePhoneStore.getState().status !== 'after_call_work') return;
  usePhoneStore.setState({ status: 'available' });
  publishStatus();
}

/** The customer panel follows the focused call: its customer, or nothing for an unknown caller. */
function showCallerInPanel(callId: string): void {
  if (usePhoneStore.getState().focusedCallId !== callId) return;
  const pop = useScreenPopStore.getState().pops[callId];
  if (!pop || pop.phase === 'loading') return;
  if (pop.phase === 'found' && pop.detail) useCustomerStore.getState().show(pop.detail);
  else useCustomerStore.getState().clear();
}

function setFocus(callId: string | null): void {
  usePhoneStore.setState({ focusedCallId: callId });
  if (callId) showCallerInPanel(callId);
}

function refreshRinging(): void {
  const { calls } = usePhoneStore.getState();
  const ringing = calls.filter((call) => call.state === 'ringing');
  if (ringing.length === 0) {
    ringer.stop();
    usePhoneStore.setState({ ringtone: 'off' });
    return;
  }
  const talking = calls.some((call) => call.state !== 'ringing');
  const mode = talking ? 'soft' : 'normal';
  usePhoneStore.setState({ ringtone: mode === 'soft' ? 'soft' : 'ringing' });
  void ringer.start(mode, useAudioStore.getState().resolved.ring?.deviceId ?? null).then((outcome) => {
    if (outcome === 'blocked' && usePhoneStore.getState().calls.some((call) => call.state === 'ringing')) {
      usePhoneStore.setState({ ringtone: 'blocked' });
    }
  });
}

async function holdOthers(exceptId: string): Promise<void> {
  for (const other of usePhoneStore.getState().calls) {
    if (other.id === exceptId || other.state !== 'connected') continue;
    await holdCall(other.id, true);
  }
}

async function holdCall(id: string, hold: boolean): Promise<void> {
  if (!engine) return;
  updateCall(id, { type: hold ? 'holdRequested' : 'resumeRequested' });
  try {
    await engine.setHold(id, hold);
  } catch (error) {
    updateCall(id, { type: 'requestFailed' });
    throw error;
  }
}

/**
 * How long a new ringing call waits for its caller's lookup before it is shown without it
 * (with "loading"). The answer usually takes a few milliseconds: the call and its customer
 * then reach the screen in one render and one frame, instead of an empty card painted first
 * and repainted, which cost the screen pop a render and a frame of the main thread.
 */
export const POP_GRACE_MS = 100;

/**
 * Ringing calls taken by onIncoming and not in the store yet (see POP_GRACE_MS). Important:
 * they count as live calls (the limit of live calls holds during a burst), and the engine's
 * first event about one puts it in the store before the event is applied, so no call and no
 * pop is ever lost.
 */
const unpublished = new Map<string, { call: Call; focus: boolean; timer: ReturnType<typeof setTimeout> }>();

function liveCalls(): Call[] {
  return [...usePhoneStore.getState().calls, ...[...unpublished.values()].map((entry) => entry.call)].filter(isLive);
}

/** Puts a call held back by onIncoming in the store (once); the ringtone starts after that frame. */
function publishCall(id: string): void {
  const entry = unpublished.get(id);
  if (!entry) return;
  clearTimeout(entry.timer);
  unpublished.delete(id);
  useScreenPopStore.getState().showLoading(id);
  usePhoneStore.setState((state) => ({ calls: [...state.calls, entry.call], ...(entry.focus ? { focusedCallId: id } : {}) }));
  afterNextPaint(refreshRinging);
}

function forgetUnpublishedCalls(): void {
  for (const entry of unpublished.values()) clearTimeout(entry.timer);
  unpublished.clear();
  ringingToReport.clear();
}

/**
 * Ringing calls whose "ringing" report waits for their card's first frame, with the time they
 * started ringing. The call's next event reports it first if it comes sooner: the reports keep
 * their order (ringing, then answered or missed).
 */
const ringingToReport = new Map<string, string>();

function reportRinging(id: string): void {
  const at = ringingToReport.get(id);
  if (at === undefined) return;
  ringingToReport.delete(id);
  const call = findCall(id);
  if (call) sendCallEvent(call, 'ringing', { at });
}

/** Whether a new call (not a replacement) would ring now rather than be refused as busy. */
function wouldRing(): boolean {
  return usePhoneStore.getState().status === 'available' && liveCalls().length < MAX_LIVE_CALLS;
}

/** The INVITE has just arrived: ask the core for the caller now if the call is going to ring. */
function onArriving(info: ArrivingCall): void {
  if (!wouldRing()) return;
  popPending(info.sipCallId);
  useScreenPopStore.getState().askEarly(info.id, info.identity, info.sipCallId);
}

function onIncoming(info: IncomingCall): IncomingDecision {
  const live = liveCalls();
  const replacing = info.replacing !== null && live.some((call) => call.id === info.replacing);
  if (!replacing && !wouldRing()) {
    void invoke('calls:event', {
      callId: info.sipCallId,
      event: 'rejected',
      direction: 'inbound',
      remote: remoteOf({ identity: info.identity, target: null }),
      customerId: null,
      at: info.at,
    });
    return 'busy';
  }
  const waiting = live.length > 0 && !replacing;
  popPending(info.sipCallId);
  const call = createCall({ id: info.id, sipCallId: info.sipCallId, direction: 'inbound', identity: info.identity, at: info.at, waiting });
  // The lookup goes to the core first: everything else here runs while it is on its way. The
  // call reaches the store with its answer (or after POP_GRACE_MS), the ringtone (audio
  // elements, an audio graph: milliseconds of the main thread) after that frame.
  const lookup = useScreenPopStore.getState().lookup(call.id, call.identity, null, call.sipCallId, { showLoading: false });
  unpublished.set(call.id, { call, focus: !waiting, timer: setTimeout(() => publishCall(call.id), POP_GRACE_MS) });
  void lookup.then((pop) => {
    publishCall(call.id);
    if (!findCall(call.id)) return;
    ringingToReport.set(call.id, now());
    // The card in the call first; the "ringing" report (the core's call log, the backend), the
    // customer panel (the incident tree, a much bigger render) and the notification once that
    // frame is on screen.
    afterNextPaint(() => {
      reportRinging(call.id);
      const current = findCall(call.id);
      if (!current) return;
      showCallerInPanel(call.id);
      if (current.state === 'ringing') {
        notifyIncomingCall(call.sipCallId, i18n.t('phone.notification.title'), popLabel(pop, current.identity), () => {
          void usePhoneStore.getState().answer(call.id);
        });
      }
    });
  });
  return replacing ? 'answer' : 'ring';
}

function popLabel(pop: Pop, identity: CallerIdentity): string {
  if (pop.detail) return `${pop.detail.customer.name} (${describeCaller(identity)})`;
  return describeCaller(identity) || i18n.t('phone.anonymous');
}

function onCallEvent(id: string, event: CallEvent): void {
  publishCall(id);
  reportRinging(id);
  const before = findCall(id);
  const call = updateCall(id, event);
  if (!before || !call) return;
  if (event.type === 'established') {
    sendCallEvent(call, 'answered');
    closeCallNotification(call.sipCallId);
    if (usePhoneStore.getState().status === 'after_call_work') clearAfterCallWork();
  }
  if (call.state === 'ended') finishCall(before, call);
  refreshRinging();
  publishStatus();
}

function finishCall(before: Call, call: Call): void {
  popSettled(call.sipCallId);
  closeCallNotification(call.sipCallId);
  const pop = useScreenPopStore.getState().pops[call.id] ?? null;
  const event: CallEventInput['event'] =
    call.endReason === 'transferred'
      ? 'transferred'
      : call.answeredAt !== null
        ? 'ended'
        : call.direction === 'outbound'
          ? 'ended'
          : call.endReason === 'declined' || call.endReason === 'busy'
            ? 'rejected'
            : 'missed';
  sendCallEvent(call, event, before.transferTarget ? { transferTarget: before.transferTarget.slice(0, 100) } : {});
  if (event === 'missed') {
    const customerName = pop?.detail?.customer.name ?? null;
    useCallHistoryStore.getState().noteMissed({ callId: call.sipCallId, remote: remoteOf(call), customerName });
    notifyMissedCall(call.sipCallId, i18n.t('history.notification.title'), customerName ?? describeCaller(call.identity), () =>
      useWorkAreaStore.getState().show('history'),
    );
  }

  const remaining = usePhoneStore.getState().calls.filter((other) => other.id !== call.id);
  const focused = usePhoneStore.getState().focusedCallId;
  usePhoneStore.setState({ calls: remaining });
  if (focused === call.id) {
    const next = remaining.find((other) => other.state === 'connected') ?? remaining[0];
    usePhoneStore.setState({ focusedCallId: next?.id ?? null });
    if (next) showCallerInPanel(next.id);
  }

  // A consultation with a colleague is part of the customer's call, not a call of its own.
  const needsWrapUp = call.answeredAt !== null && call.consultFor === null && (Boolean(pop?.detail) || call.identity.e164 !== null);
  if (needsWrapUp) useWrapUpStore.getState().add({ call, customer: pop?.detail ?? null });
  useScreenPopStore.getState().remove(call.id);
  if (needsWrapUp && remaining.length === 0 && usePhoneStore.getState().status === 'available') startAfterCallWork();
}

let monitorInviteHandler: ((invite: IncomingMonitor) => void) | null = null;

/** Live monitoring (supervisor/monitored-call.ts) verifies and answers monitoring INVITEs. */
export function setMonitorInviteHandler(handler: ((invite: IncomingMonitor) => void) | null): void {
  monitorInviteHandler = handler;
}

/** The running engine, for live monitoring's SIP legs; null while the phone is off. */
export function currentPhoneEngine(): PhoneEngine | null {
  return engine;
}

const listener: EngineListener = {
  registration(event) {
    usePhoneStore.setState((state) => ({ registration: applyRegistrationEvent(state.registration, event) }));
  },
  arriving: onArriving,
  incoming: onIncoming,
  callEvent: onCallEvent,
  monitorInvite(invite) {
    if (monitorInviteHandler) monitorInviteHandler(invite);
    else invite.reject(403);
  },
};

setWrapUpQueueEmptiedHandler(() => {
  if (usePhoneStore.getState().calls.length === 0) endAfterCallWork();
});

async function withEngine(work: (engine: PhoneEngine) => Promise<void>): Promise<void> {
  if (!engine) return;
  try {
    await work(engine);
  } catch (error) {
    usePhoneStore.setState({ problem: problemFrom(error) });
  }
}

export const usePhoneStore = create<PhoneState>()((set, get) => ({
  ...initialState,

  async start() {
    if (get().phase === 'starting' || get().phase === 'on' || !engineFactory) return;
    const factory = engineFactory;
    const mine = ++generation;
    set({ phase: 'starting', startError: null });
    const [credentials, settings] = await Promise.all([invoke('sip:credentials', undefined), invoke('telephony:settings', undefined)]);
    if (mine !== generation) return;
    if (!credentials.ok) {
      set({ phase: 'unavailable', startError: credentials.error });
      if (credentials.error.code === 'offline') {
        startRetry = setTimeout(() => {
          startRetry = null;
          if (mine === generation && get().phase === 'unavailable') {
            set({ phase: 'off' });
            void get().start();
          }
        }, START_RETRY_MS);
      }
      return;
    }
    const resolvedSettings: TelephonySettings = settings.ok ? settings.value : { ...DEFAULT_SETTINGS, defaultRegion: region() };
    try {
      engine = factory({
        credentials: credentials.value,
        settings: resolvedSettings,
        listener,
        fetchCredentials: () => invoke('sip:credentials', undefined),
      });
    } catch (error) {
      set({ phase: 'unavailable', startError: { code: 'internal', message: error instanceof Error ? error.message : String(error) } });
      return;
    }
    // A session restored after a restart keeps a break chosen before it.
    const held = await invoke('agent:status', undefined);
    if (mine !== generation) return;
    if (held.ok && held.value?.status === 'break' && get().status === 'available') set({ status: 'break' });
    set({ phase: 'on', extension: engine.extension, settings: resolvedSettings });
    publishedStatus = null;
    engine.start();
    // The ringtone's audio graph is made now rather than when the first call rings.
    ringer.prepare();
    askNotificationPermission();
    void useAudioStore.getState().refresh();
    publishStatus();
  },

  recoverConnection() {
    engine?.recoverConnection();
  },

  async stop() {
    generation += 1;
    if (startRetry) clearTimeout(startRetry);
    startRetry = null;
    clearAfterCallWork();
    forgetUnpublishedCalls();
  resetPopHold();
    ringer.stop();
    const running = engine;
    engine = null;
    set({ ...initialState, registration: get().registration });
    if (running) await running.stop();
    set({ registration: initialRegistration(now()) });
  },

  async answer(id) {
    const call = findCall(id);
    if (!call || !availableActions(call).has('answer') || !engine) return;
    const running = engine;
    // Call waiting: the conversation in progress goes on hold first, so the operator never
    // talks to two callers at once.
    try {
      await holdOthers(id);
    } catch (error) {
      set({ problem: problemFrom(error) });
      return;
    }
    updateCall(id, { type: 'answerRequested' });
    // The operator takes the call: the customer's record is what they need in front of them.
    useWorkAreaStore.getState().show('customers');
    setFocus(id);
    refreshRinging();
    try {
      await running.answer(id);
    } catch (error) {
      updateCall(id, { type: 'requestFailed' });
      set({ problem: problemFrom(error) });
    }
  },

  async decline(id) {
    const call = findCall(id);
    if (!call || !availableActions(call).has('decline')) return;
    await withEngine((e) => e.decline(id));
  },

  async hangup(id) {
    const call = findCall(id);
    if (!call || !availableActions(call).has('hangup')) return;
    await withEngine((e) => e.hangup(id));
  },

  async toggleHold(id) {
    const call = findCall(id);
    if (!call) return;
    const actions = availableActions(call);
    try {
      if (actions.has('hold')) await holdCall(id, true);
      else if (actions.has('resume')) {
        await holdOthers(id);
        await holdCall(id, false);
        setFocus(id);
      }
    } catch (error) {
      set({ problem: problemFrom(error) });
    }
  },

  toggleMute(id) {
    const call = findCall(id);
    if (!call || !availableActions(call).has('mute') || !engine) return;
    try {
      engine.setMuted(id, !call.muted);
    } catch (error) {
      set({ problem: problemFrom(error) });
    }
  },

  async sendDtmf(id, digit) {
    const call = findCall(id);
    if (!call || !availableActions(call).has('dtmf')) return;
    await withEngine((e) => e.sendDtmf(id, digit));
  },

  async dial(input, customerId = null) {
    return placeCall(input, customerId, null);
  },

  async blindTransfer(id, input) {
    const call = findCall(id);
    if (!call || !availableActions(call).has('transfer') || !engine) return false;
    const target = parseDialTarget(input, engine.domain, region());
    if (!target.ok) {
      set({ problem: { code: 'invalid_target', message: input } });
      return false;
    }
    updateCall(id, { type: 'transferStarted', target: input.trim() });
    try {
      await engine.blindTransfer(id, target.uri);
      return true;
    } catch (error) {
      updateCall(id, { type: 'transferFailed' });
      set({ problem: problemFrom(error) });
      return false;
    }
  },

  async startConsultation(id, input) {
    const call = findCall(id);
    if (!call || !availableActions(call).has('transfer')) return false;
    return placeCall(input, null, id);
  },

  async completeTransfer(consultId) {
    const consult = findCall(consultId);
    const originalId = consult?.consultFor;
    const original = originalId ? findCall(originalId) : undefined;
    if (!consult || !original || consult.state !== 'connected' || !availableActions(original).has('transfer') || !engine) return;
    updateCall(original.id, { type: 'transferStarted', target: consult.target ?? remoteOf(consult) });
    try {
      await engine.attendedTransfer(original.id, consultId);
    } catch (error) {
      updateCall(original.id, { type: 'transferFailed' });
      set({ problem: problemFrom(error) });
    }
  },

  setStatus(status) {
    if (status !== 'after_call_work') clearAfterCallWork();
    set({ status });
    publishStatus();
  },

  retryStatus() {
    publishedStatus = null;
    publishStatus();
  },

  statusSynced(state) {
    // An answer about an older choice never replaces what is known about a newer one.
    const current = get().statusSync;
    if (current && current.changedAt > state.changedAt) return;
    set({ statusSync: state });
  },

  focus(id) {
    if (findCall(id)) setFocus(id);
  },

  async unlockSound() {
    await ringer.unlock();
    if (get().ringtone === 'blocked') {
      ringer.stop();
      refreshRinging();
    }
  },

  async audioDevicesChanged() {
    await ringer.setDevice(useAudioStore.getState().resolved.ring?.deviceId ?? null);
    await withEngine((e) => e.applyAudioDevices());
  },

  dismissProblem() {
    set({ problem: null });
  },
}));

async function placeCall(input: string, customerId: string | null, consultFor: string | null): Promise<boolean> {
  const state = usePhoneStore.getState();
  if (!engine) return false;
  const running = engine;
  const target = parseDialTarget(input, running.domain, region());
  if (!target.ok) {
    usePhoneStore.setState({ problem: { code: 'invalid_target', message: input } });
    return false;
  }
  if (state.registration.state !== 'registered') {
    usePhoneStore.setState({ problem: { code: 'not_registered', message: state.registration.reason ?? '' } });
    return false;
  }
  if (state.calls.filter(isLive).length >= MAX_LIVE_CALLS) {
    usePhoneStore.setState({ problem: { code: 'busy_elsewhere', message: '' } });
    return false;
  }
  try {
    await holdOthers('');
  } catch (error) {
    usePhoneStore.setState({ problem: problemFrom(error) });
    return false;
  }
  let dialed;
  try {
    dialed = running.dial(target.uri);
  } catch (error) {
    usePhoneStore.setState({ problem: problemFrom(error) });
    return false;
  }
  const identity: CallerIdentity = {
    source: 'none',
    e164: target.kind === 'number' ? target.e164 : null,
    user: target.kind === 'number' ? target.e164 : target.user,
    displayName: null,
    customerId,
    customerIdRejected: false,
  };
  const call = createCall({ id: dialed.id, sipCallId: dialed.sipCallId, direction: 'outbound', identity, target: input.trim(), at: now(), consultFor });
  usePhoneStore.setState((s) => ({ calls: [...s.calls, call], problem: null }));
  setFocus(call.id);
  sendCallEvent(call, 'ringing');
  if (consultFor === null) {
    void useScreenPopStore
      .getState()
      .lookup(call.id, identity, customerId)
      .then(() => showCallerInPanel(call.id));
  }
  return true;
}

/** Whether the signed-in user may create a customer from an unknown caller's panel. */
export function mayCreateCustomer(): boolean {
  const user = useSessionStore.getState().session?.user;
  return user ? mayCreateCustomerFromCall(user) : false;
}

export function resetPhoneStore(): void {
  generation += 1;
  if (startRetry) clearTimeout(startRetry);
  startRetry = null;
  clearAfterCallWork();
  forgetUnpublishedCalls();
  resetPopHold();
  ringer.stop();
  const running = engine;
  engine = null;
  publishedStatus = null;
  if (running) void running.stop();
  usePhoneStore.setState(initialState);
}
