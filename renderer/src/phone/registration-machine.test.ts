import { describe, expect, it } from 'vitest';
import {
  applyRegistrationEvent,
  credentialRefreshDelayMs,
  initialRegistration,
  reconnectDelayMs,
  RECONNECT_MAX_DELAY_MS,
  type Registration,
  type RegistrationEvent,
} from './registration-machine.js';

const at = (second: number) => `2024-05-01T01:00:${String(second).padStart(2, '0')}.000Z`;

function run(...events: RegistrationEvent[]): Registration {
  return events.reduce(applyRegistrationEvent, initialRegistration(at(0)));
}

describe('registration state machine', () => {
  it('registers: unregistered → registering → registered', () => {
    const registering = run({ type: 'start', at: at(1) });
    expect(registering).toMatchObject({ state: 'registering', since: at(1) });
    expect(applyRegistrationEvent(registering, { type: 'registered', at: at(2) })).toMatchObject({ state: 'registered', since: at(2), failures: 0 });
  });

  it('goes offline when the socket is lost, and registers again when it is back', () => {
    const offline = run({ type: 'start', at: at(1) }, { type: 'registered', at: at(2) }, { type: 'transportLost', at: at(3), reason: 'socket closed' });
    expect(offline).toMatchObject({ state: 'offline', reason: 'socket closed', failures: 1, since: at(3) });
    const back = applyRegistrationEvent(offline, { type: 'transportConnected', at: at(4) });
    expect(back).toMatchObject({ state: 'registering', reason: null });
    expect(applyRegistrationEvent(back, { type: 'registered', at: at(5) })).toMatchObject({ state: 'registered', failures: 0 });
  });

  it('counts failed attempts in a row while offline, keeping the time it went offline', () => {
    const twice = run(
      { type: 'start', at: at(1) },
      { type: 'transportLost', at: at(2), reason: 'refused' },
      { type: 'transportLost', at: at(3), reason: 'refused' },
    );
    expect(twice).toMatchObject({ state: 'offline', failures: 2, since: at(2) });
  });

  it('goes offline when no credentials can be had, and to error when the PBX refuses them', () => {
    expect(run({ type: 'start', at: at(1) }, { type: 'credentialsUnavailable', at: at(2), reason: 'backend offline' })).toMatchObject({ state: 'offline' });
    expect(run({ type: 'start', at: at(1) }, { type: 'rejected', at: at(2), reason: '403 Forbidden' })).toMatchObject({ state: 'error', reason: '403 Forbidden' });
  });

  it('tries again from error', () => {
    const error = run({ type: 'start', at: at(1) }, { type: 'rejected', at: at(2), reason: '403' });
    expect(applyRegistrationEvent(error, { type: 'start', at: at(3) })).toMatchObject({ state: 'registering', failures: 1 });
  });

  it('re-registers when the registrar drops a registration on a live socket', () => {
    const registered = run({ type: 'start', at: at(1) }, { type: 'registered', at: at(2) });
    expect(applyRegistrationEvent(registered, { type: 'unregistered', at: at(3) })).toMatchObject({ state: 'registering' });
    expect(applyRegistrationEvent(registered, { type: 'transportConnected', at: at(3) })).toBe(registered);
  });

  it('stays unregistered after stop, whatever sip.js reports late', () => {
    const stopped = run({ type: 'start', at: at(1) }, { type: 'registered', at: at(2) }, { type: 'stopped', at: at(3) });
    expect(stopped).toMatchObject({ state: 'unregistered', failures: 0 });
    for (const event of [
      { type: 'registered', at: at(4) },
      { type: 'transportLost', at: at(4), reason: 'closed' },
      { type: 'transportConnected', at: at(4) },
      { type: 'rejected', at: at(4), reason: '403' },
    ] as RegistrationEvent[]) {
      expect(applyRegistrationEvent(stopped, event), event.type).toBe(stopped);
    }
  });
});

describe('reconnect backoff', () => {
  it('starts fast, doubles, and stays under the cap that keeps recovery within seconds', () => {
    const middle = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 20].map((n) => reconnectDelayMs(n, middle))).toEqual([250, 500, 1000, 2000, 3000, 3000, 3000]);
    expect(reconnectDelayMs(50, () => 1)).toBeLessThanOrEqual(RECONNECT_MAX_DELAY_MS * 1.2);
    expect(reconnectDelayMs(1, () => 0)).toBe(200);
  });
});

describe('credential refresh', () => {
  const now = Date.parse('2024-05-01T00:00:00Z');
  it('refreshes at 80 % of the remaining life', () => {
    expect(credentialRefreshDelayMs('2024-05-01T01:00:00Z', now)).toBe(48 * 60_000);
    expect(credentialRefreshDelayMs('2024-05-01T00:10:00Z', now)).toBe(8 * 60_000);
    expect(credentialRefreshDelayMs('2024-05-01T00:01:00Z', now)).toBe(48_000);
  });

  it('never schedules sooner than 5 s, even for expired or unreadable times', () => {
    expect(credentialRefreshDelayMs('2024-04-30T00:00:00Z', now)).toBe(5_000);
    expect(credentialRefreshDelayMs('not a date', now)).toBe(5_000);
  });
});
