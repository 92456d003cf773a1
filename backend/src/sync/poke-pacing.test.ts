import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pacePokes, POKE_SPREAD_MAX_MS, TenantStreams } from './poke-pacing.js';

describe('poke pacing', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('announces every change at once while the tenant has few streams', () => {
    const sent: number[] = [];
    const pokes = pacePokes((seq) => sent.push(seq), () => 0);
    pokes.poke(3);
    pokes.poke(4);
    pokes.poke(2);
    expect(sent).toEqual([3, 4]);
  });

  it('with a spread: one poke within it carrying the newest sequence, then at most one per spread', () => {
    const sent: number[] = [];
    const pokes = pacePokes((seq) => sent.push(seq), () => 100, () => 0.5);
    pokes.poke(1);
    pokes.poke(2);
    vi.advanceTimersByTime(49);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([2]);
    pokes.poke(3);
    pokes.poke(5);
    pokes.poke(4);
    vi.advanceTimersByTime(99);
    expect(sent).toEqual([2]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([2, 5]);
    pokes.poke(6);
    pokes.stop();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([2, 5]);
  });

  it('spreads by the streams a tenant has open, up to a second', () => {
    const streams = new TenantStreams();
    const closers = Array.from({ length: 3 }, () => streams.open('t1'));
    streams.open('t2');
    expect(streams.spreadMs('t1')).toBe(3);
    closers[0]!();
    closers[0]!();
    expect(streams.spreadMs('t1')).toBe(2);
    expect(streams.spreadMs('none')).toBe(0);
    for (let i = 0; i < 5000; i++) streams.open('big');
    expect(streams.spreadMs('big')).toBe(POKE_SPREAD_MAX_MS);
  });
});
