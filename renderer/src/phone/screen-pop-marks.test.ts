import { describe, expect, it, vi } from 'vitest';
import { markAsked, markPaintedOnce, SCREENPOP_ASKED_MARK, SCREENPOP_KEPT_CALLS, SCREENPOP_PAINTED_MARK } from './screen-pop-marks.js';

/** Resolves after every pending paint callback (an animation frame, or the timer that stands in for one) has run. */
async function painted(): Promise<void> {
  await new Promise<void>((resolve) => (typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => setTimeout(resolve, 0)) : setTimeout(resolve, 0)));
}

describe('screen pop marks', () => {
  it('keeps the marks of at most the last SCREENPOP_KEPT_CALLS calls, so a long shift does not grow the timeline', async () => {
    for (let call = 0; call < SCREENPOP_KEPT_CALLS; call++) {
      markAsked(`call-${call}`);
      markPaintedOnce(`call-${call}`, 'found', 'cust-1');
    }
    await painted();
    expect(performance.getEntriesByName(SCREENPOP_PAINTED_MARK, 'mark')).toHaveLength(SCREENPOP_KEPT_CALLS);
    expect(performance.getEntriesByName(SCREENPOP_ASKED_MARK, 'mark')).toHaveLength(SCREENPOP_KEPT_CALLS);

    markAsked('one-more');
    markPaintedOnce('one-more', 'found', 'cust-1');
    await painted();
    expect(performance.getEntriesByName(SCREENPOP_PAINTED_MARK, 'mark')).toHaveLength(0);
    expect(performance.getEntriesByName(SCREENPOP_ASKED_MARK, 'mark')).toHaveLength(0);

    markPaintedOnce('next', 'found', 'cust-1');
    await painted();
    expect(performance.getEntriesByName(SCREENPOP_PAINTED_MARK, 'mark').map((entry) => (entry as PerformanceMark).detail)).toEqual([
      { callId: 'next', phase: 'found', customerId: 'cust-1', committedAt: expect.any(Number) },
    ]);
  });

  it('never reads the timeline back at a call: the work per call stays the same however many marks are kept (issue 13 item 7)', async () => {
    const read = vi.spyOn(performance, 'getEntriesByName');
    const readAll = vi.spyOn(performance, 'getEntries');
    try {
      for (let call = 0; call < 50; call++) markPaintedOnce(`steady-${call}`, 'found', 'cust-1');
      await painted();
      expect(read).not.toHaveBeenCalled();
      expect(readAll).not.toHaveBeenCalled();
    } finally {
      read.mockRestore();
      readAll.mockRestore();
    }
  });
});
