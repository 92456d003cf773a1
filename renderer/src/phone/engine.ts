import type { SipCredentials, TelephonySettings } from '../../../shared/ipc.js';
import type { MonitorMode } from '../../../shared/monitoring.js';
import type { Result } from '../../../shared/result.js';
import type { CallerIdentity } from './caller-identity.js';
import type { CallEvent } from './call-machine.js';
import type { RegistrationEvent } from './registration-machine.js';

/**
 * The seam between the phone store (state, decisions, UI) and the SIP stack. The store
 * decides (ring or refuse, which call to hold) and renders; the engine talks SIP and media
 * and reports back. The app's engine is sip.js (sip-engine.ts); renderer tests drive the
 * store through a scripted engine.
 */

export interface IncomingCall {
  id: string;
  sipCallId: string;
  identity: CallerIdentity;
  at: string;
  /** The call this one replaces (an attended transfer completing here), if any. */
  replacing: string | null;
}

/** ring: let it ring; answer: take it at once (a replacement); busy: refuse with 486 Busy Here. */
export type IncomingDecision = 'ring' | 'answer' | 'busy';

/** A new call's INVITE as it reached the phone, before sip.js built its session. */
export interface ArrivingCall {
  /** The id the call will have (IncomingCall.id). */
  id: string;
  sipCallId: string;
  identity: CallerIdentity;
}

export interface EngineListener {
  registration(event: RegistrationEvent): void;
  /**
   * Called with a new call's INVITE the moment its text arrived, before sip.js builds the
   * session and before `incoming`: the screen pop asks the core for the caller here, so that
   * the lookup runs while sip.js does its work. Not called for an INVITE that replaces a call.
   */
  arriving?(call: ArrivingCall): void;
  /** Called synchronously when an INVITE arrives, before anything is sent back. */
  incoming(call: IncomingCall): IncomingDecision;
  callEvent(id: string, event: CallEvent): void;
  /**
   * A monitoring INVITE (it carries MONITOR_HEADER): never rings and is not one of the
   * operator's calls. The listener verifies it with the backend and accepts or refuses it.
   */
  monitorInvite?(invite: IncomingMonitor): void;
}

/** Why a monitoring leg ended: this side hung up, the other side did, or it never connected. */
export type MonitorLegEnd = 'hangup' | 'remote_hangup' | 'failed';

/**
 * A monitoring call leg (issue 11) between a supervisor's app and an operator's app. Its media
 * is the monitor mixer's (renderer/src/supervisor/monitor-mix.ts), not the phone store's.
 */
export interface MonitorLeg {
  readonly id: string;
  /** Resolves once connected; rejects when refused or failed. */
  readonly established: Promise<void>;
  remoteStream(): MediaStream | null;
  /** Sends this track instead of what the leg sends now (the microphone at first). */
  replaceOutgoingTrack(track: MediaStreamTrack | null): Promise<void>;
  /** The microphone the leg opened, sending or not. */
  setMicrophoneEnabled(enabled: boolean): void;
  /** A mode switch as SIP INFO (MONITOR_INFO_CONTENT_TYPE). */
  sendMode(mode: MonitorMode): Promise<void>;
  hangup(): Promise<void>;
  /** RTP packets received so far: stops growing when the other side is gone without a BYE. */
  packetsReceived(): Promise<number>;
  onModeInfo: ((mode: MonitorMode) => void) | null;
  onEnded: ((reason: MonitorLegEnd) => void) | null;
}

export interface IncomingMonitor {
  /** The header's value, not yet verified. */
  sessionId: string;
  /** The From user of the INVITE (the PBX checks it against the caller's credentials). */
  fromUser: string;
  accept(): MonitorLeg;
  reject(statusCode: number): void;
}

/**
 * A local conference a call sends instead of the bare microphone (live monitoring's mixer,
 * renderer/src/supervisor/monitor-mix.ts). While one is attached the phone keeps driving it:
 * mute closes the microphone inside the mix, so it reaches nobody (neither the customer nor the
 * supervisor); a microphone or speaker change moves the mix's input or output, never the call's
 * sender.
 */
export interface CallMix {
  /** What the customer's call sends while the mix is attached. */
  readonly toCustomer: MediaStreamTrack;
  /** The microphone feeding the mix, after a device change. */
  useMicrophone(track: MediaStreamTrack): void;
  setMicrophoneOpen(open: boolean): void;
  /** The speaker the mix plays to the operator on (null: the default). */
  useSpeaker(deviceId: string | null): void;
}

/** The media of one of the operator's calls, for the monitor mixer. */
export interface CallMedia {
  remoteStream: MediaStream;
  /** The microphone the call opened (the chosen device's). */
  microphone: MediaStreamTrack | null;
  /** Sends the mix's output instead of the microphone; null gives the call its microphone back. */
  attachMix(mix: CallMix | null): Promise<void>;
}

export interface MonitorSignalling {
  /** Calls the operator's phone for a monitoring session (the INVITE carries MONITOR_HEADER). */
  placeMonitorCall(uri: string, sessionId: string): MonitorLeg;
  callMedia(id: string): CallMedia | null;
}

export interface DialedCall {
  id: string;
  sipCallId: string;
  uri: string;
}

export type PhoneErrorCode = 'not_registered' | 'no_such_call' | 'invalid_target' | 'refused' | 'media' | 'failed';

export class PhoneError extends Error {
  constructor(
    readonly code: PhoneErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PhoneError';
  }
}

export interface EngineOptions {
  credentials: SipCredentials;
  settings: TelephonySettings;
  listener: EngineListener;
  /** Fresh credentials from the core (they are short-lived and never stored). */
  fetchCredentials(): Promise<Result<SipCredentials>>;
}

export interface PhoneEngine {
  /** The agent's own SIP user, which colleagues dial to reach them. */
  readonly extension: string;
  readonly domain: string;
  start(): void;
  stop(): Promise<void>;
  answer(id: string): Promise<void>;
  decline(id: string): Promise<void>;
  hangup(id: string): Promise<void>;
  setHold(id: string, hold: boolean): Promise<void>;
  setMuted(id: string, muted: boolean): void;
  sendDtmf(id: string, digit: string): Promise<void>;
  dial(uri: string): DialedCall;
  blindTransfer(id: string, uri: string): Promise<void>;
  /** Transfers call `id` to the party of `consultId` (REFER with Replaces). */
  attendedTransfer(id: string, consultId: string): Promise<void>;
  /** Moves live calls to the devices in use now (after a devicechange or a new choice). */
  applyAudioDevices(): Promise<void>;
  /** The computer woke or the network changed: re-register, reconnecting first if the socket died. */
  recoverConnection(): void;
  /** Live monitoring's SIP legs; absent in engines without media (renderer tests). */
  readonly monitor?: MonitorSignalling;
}

export type EngineFactory = (options: EngineOptions) => PhoneEngine;

export const DTMF_DIGITS = '0123456789*#';

export function isDtmfDigit(value: string): boolean {
  return value.length === 1 && DTMF_DIGITS.includes(value);
}
