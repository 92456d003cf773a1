import type { SipCredentials, TelephonySettings } from '../../../shared/ipc.js';
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

export interface EngineListener {
  registration(event: RegistrationEvent): void;
  /** Called synchronously when an INVITE arrives, before anything is sent back. */
  incoming(call: IncomingCall): IncomingDecision;
  callEvent(id: string, event: CallEvent): void;
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
}

export type EngineFactory = (options: EngineOptions) => PhoneEngine;

export const DTMF_DIGITS = '0123456789*#';

export function isDtmfDigit(value: string): boolean {
  return value.length === 1 && DTMF_DIGITS.includes(value);
}
