import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Reconnector } from './reconnector.js';

/** A connection that fails until `heal()`; attempts are counted. */
function fakeConnection() {
  let healthy = false;
  let connected = false;
  const state = {
    attempts: 0,
    heal: () => {
      healthy = true;
    },
    drop: () => {
      connected = false;
    },
    isConnected: () => connected,
    attempt: async () => {
      state.attempts += 1;
      if (!healthy) throw new Error('ECONNREFUSED');
      connected = true;
    },
  };
  return state;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('reconnector', () => {
  it('retries with growing delays until the connection is back, then forgets the failures', async () => {
    const connection = fakeConnection();
    const failures: number[] = [];
    const reconnector = new Reconnector({
      attempt: connection.attempt,
      isConnected: connection.isConnected,
      delayMs: (n) => n * 100,
      onFailure: (n) => failures.push(n),
    });
    reconnector.lost();
    expect(connection.attempts).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(connection.attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(199);
    expect(connection.attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(connection.attempts).toBe(2);
    expect(failures).toEqual([2, 3]);
    connection.heal();
    await vi.advanceTimersByTimeAsync(300);
    expect(connection.isConnected()).toBe(true);
    expect(reconnector.failures).toBe(0);
    expect(reconnector.scheduled).toBe(false);
  });

  it('tries at once when told the network is back, skipping the rest of the backoff', async () => {
    const connection = fakeConnection();
    const reconnector = new Reconnector({ attempt: connection.attempt, isConnected: connection.isConnected, delayMs: () => 60_000 });
    reconnector.lost();
    connection.heal();
    reconnector.now();
    await vi.advanceTimersByTimeAsync(0);
    expect(connection.attempts).toBe(1);
    expect(connection.isConnected()).toBe(true);
    expect(reconnector.scheduled).toBe(false);
  });

  it('does nothing on "now" while connected, and runs one attempt at a time', async () => {
    const connection = fakeConnection();
    let release: () => void = () => undefined;
    const reconnector = new Reconnector({
      attempt: () => {
        connection.attempts += 1;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      isConnected: connection.isConnected,
    });
    reconnector.now();
    reconnector.now();
    reconnector.lost();
    expect(connection.attempts).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(reconnector.scheduled).toBe(false);

    const up = new Reconnector({ attempt: connection.attempt, isConnected: () => true });
    up.now();
    expect(connection.attempts).toBe(1);
  });

  it('stops retrying after stop()', async () => {
    const connection = fakeConnection();
    const reconnector = new Reconnector({ attempt: connection.attempt, isConnected: connection.isConnected, delayMs: () => 10 });
    reconnector.lost();
    reconnector.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    reconnector.now();
    expect(connection.attempts).toBe(0);
  });
});
