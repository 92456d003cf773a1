/**
 * The phone's registration state, pure. The softphone reports what happened (the socket
 * closed, the REGISTER got 200, the credentials were refused) and the operator sees the
 * result at all times.
 *
 *   unregistered ──start──▶ registering ──registered──▶ registered
 *   registering | registered ──transportLost / credentialsUnavailable──▶ offline ──transportConnected──▶ registering
 *   registering ──rejected──▶ error ──start / transportConnected──▶ registering
 *   any ──stopped──▶ unregistered
 */
import { assertNever } from '../../../shared/result.js';

export const REGISTRATION_STATES = ['unregistered', 'registering', 'registered', 'offline', 'error'] as const;
export type RegistrationState = (typeof REGISTRATION_STATES)[number];

export interface Registration {
  state: RegistrationState;
  /** Why the phone is offline or in error: a short technical reason for support, shown beside the state. */
  reason: string | null;
  /** When the current state began (ISO). */
  since: string;
  /** Consecutive failed attempts since the last success: drives the backoff. */
  failures: number;
}

export type RegistrationEvent =
  | { type: 'start'; at: string }
  | { type: 'transportConnected'; at: string }
  | { type: 'registered'; at: string }
  /** The registrar dropped us (expired, or the refresh failed) while the socket stays up. */
  | { type: 'unregistered'; at: string }
  | { type: 'transportLost'; at: string; reason: string }
  | { type: 'credentialsUnavailable'; at: string; reason: string }
  | { type: 'rejected'; at: string; reason: string }
  | { type: 'stopped'; at: string };

export function initialRegistration(at: string): Registration {
  return { state: 'unregistered', reason: null, since: at, failures: 0 };
}

export function applyRegistrationEvent(current: Registration, event: RegistrationEvent): Registration {
  const move = (state: RegistrationState, reason: string | null, failures = current.failures): Registration =>
    current.state === state && current.reason === reason && current.failures === failures
      ? current
      : { state, reason, since: current.state === state ? current.since : event.at, failures };
  switch (event.type) {
    case 'start':
      return move('registering', null);
    case 'transportConnected':
      if (current.state === 'unregistered' || current.state === 'registered') return current;
      return move('registering', null);
    case 'registered':
      if (current.state === 'unregistered') return current;
      return move('registered', null, 0);
    case 'unregistered':
      if (current.state !== 'registered') return current;
      return move('registering', null);
    case 'transportLost':
      if (current.state === 'unregistered') return current;
      return move('offline', event.reason, current.failures + 1);
    case 'credentialsUnavailable':
      if (current.state === 'unregistered') return current;
      return move('offline', event.reason, current.failures + 1);
    case 'rejected':
      if (current.state === 'unregistered') return current;
      return move('error', event.reason, current.failures + 1);
    case 'stopped':
      return move('unregistered', null, 0);
    default:
      return assertNever(event, 'registration event');
  }
}

/**
 * How long to wait before the next attempt after `failures` failures in a row. Capped low
 * on purpose: the operator must see "registered" within seconds of the network coming back,
 * and one REGISTER every few seconds costs a PBX nothing.
 */
export function reconnectDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_FIRST_DELAY_MS * 2 ** Math.max(0, failures - 1));
  // ±20 % so that a room of agents whose PBX restarted does not come back in lockstep.
  return Math.round(base * (0.8 + 0.4 * random()));
}

export const RECONNECT_FIRST_DELAY_MS = 250;
export const RECONNECT_MAX_DELAY_MS = 3_000;

/**
 * When to fetch new credentials: after 80 % of their remaining life (for any life over five
 * minutes that is more than a minute before they expire), but never sooner than 5 s from now
 * (a clock that is off must not turn this into a busy loop).
 */
export function credentialRefreshDelayMs(expiresAt: string, now: number): number {
  const remaining = Date.parse(expiresAt) - now;
  if (!Number.isFinite(remaining)) return MIN_REFRESH_DELAY_MS;
  return Math.max(MIN_REFRESH_DELAY_MS, Math.floor(remaining * 0.8));
}

const MIN_REFRESH_DELAY_MS = 5_000;
