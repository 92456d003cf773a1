import { describe, expect, it } from 'vitest';
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
});
