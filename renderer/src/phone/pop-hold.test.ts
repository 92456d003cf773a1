import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isPopPending, POP_HOLD_MAX_MS, popPending, popSettled, refreshAfterPops, resetPopHold } from './pop-hold.js';

describe('refreshes held for a pending screen pop', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    resetPopHold();
  });
  afterEach(() => {
    resetPopHold();
    vi.useRealTimers();
  });

  it('runs a refresh at once when no call is ringing', () => {
    const refresh = vi.fn();
    refreshAfterPops('calls-for-you', refresh);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('runs a refresh queued during a pending pop after that pop is painted, in a task of its own, once', () => {
    const order: string[] = [];
    popPending('call-1');
    refreshAfterPops('call-history', () => order.push('history (first ask)'));
    refreshAfterPops('calls-for-you', () => order.push('calls for you'));
    refreshAfterPops('call-history', () => order.push('history (latest ask)'));
    vi.advanceTimersByTime(POP_HOLD_MAX_MS - 1);
    expect(order).toEqual([]);

    popSettled('call-1');
    order.push('card painted');
    expect(order).toEqual(['card painted']);
    vi.advanceTimersByTime(0);
    expect(order).toEqual(['card painted', 'calls for you', 'history (latest ask)']);
    expect(isPopPending()).toBe(false);
  });

  it('waits for every pending pop', () => {
    const refresh = vi.fn();
    popPending('call-1');
    popPending('call-2');
    refreshAfterPops('customer', refresh);
    popSettled('call-1');
    vi.advanceTimersByTime(0);
    expect(refresh).not.toHaveBeenCalled();
    popSettled('call-2');
    vi.advanceTimersByTime(0);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('never drops a held refresh: a pop that never paints stops holding after POP_HOLD_MAX_MS', () => {
    const refresh = vi.fn();
    popPending('lost-call');
    refreshAfterPops('customer', refresh);
    vi.advanceTimersByTime(POP_HOLD_MAX_MS - 1);
    expect(refresh).not.toHaveBeenCalled();
    vi.runAllTimers();
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(isPopPending()).toBe(false);
  });

  it('holds a released refresh again when a new call arrives before its task runs', () => {
    const refresh = vi.fn();
    popPending('call-1');
    refreshAfterPops('customer', refresh);
    popSettled('call-1');
    popPending('call-2');
    vi.advanceTimersByTime(0);
    expect(refresh).not.toHaveBeenCalled();
    popSettled('call-2');
    vi.advanceTimersByTime(0);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('ignores a settle for a call it does not hold for', () => {
    const refresh = vi.fn();
    popPending('call-1');
    popSettled('another-call');
    refreshAfterPops('customer', refresh);
    vi.advanceTimersByTime(0);
    expect(refresh).not.toHaveBeenCalled();
  });
});
