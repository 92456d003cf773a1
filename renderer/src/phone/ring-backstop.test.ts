import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RING_BACKSTOP_MS, RingBackstop } from './ring-backstop.js';

describe('RingBackstop', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives up on a call that still rings when the backstop time has passed', () => {
    const gaveUp: string[] = [];
    const backstop = new RingBackstop((id) => gaveUp.push(id));
    backstop.ring('a');
    vi.advanceTimersByTime(RING_BACKSTOP_MS - 1);
    expect(gaveUp).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(gaveUp).toEqual(['a']);
    expect(backstop.isRinging('a')).toBe(false);
  });

  it('leaves alone a call that stopped ringing (answered, declined or cancelled)', () => {
    const gaveUp: string[] = [];
    const backstop = new RingBackstop((id) => gaveUp.push(id), 1_000);
    backstop.ring('answered');
    backstop.ring('cancelled');
    backstop.ring('forgotten');
    backstop.stop('answered');
    backstop.stop('cancelled');
    vi.advanceTimersByTime(1_000);
    expect(gaveUp).toEqual(['forgotten']);
  });

  it('times each call from its own INVITE, and a repeated ring restarts that call only', () => {
    const gaveUp: string[] = [];
    const backstop = new RingBackstop((id) => gaveUp.push(id), 1_000);
    backstop.ring('first');
    vi.advanceTimersByTime(600);
    backstop.ring('second');
    backstop.ring('first');
    vi.advanceTimersByTime(999);
    expect(gaveUp).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(gaveUp).toEqual(['second', 'first']);
  });

  it('forgets every call when the phone stops', () => {
    const gaveUp: string[] = [];
    const backstop = new RingBackstop((id) => gaveUp.push(id), 1_000);
    backstop.ring('a');
    backstop.ring('b');
    backstop.stopAll();
    vi.advanceTimersByTime(5_000);
    expect(gaveUp).toEqual([]);
  });
});
