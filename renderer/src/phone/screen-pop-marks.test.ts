import { afterEach, describe, expect, it, vi } from 'vitest';
import { observeMarks } from '../test/screen-pop-marks.js';
import {
  markAnswered,
  markAsked,
  markInvite,
  markPaintedOnce,
  markReceived,
  markRefused,
  markStored,
  SCREENPOP_ASKED_MARK,
  SCREENPOP_PAINTED_MARK,
} from './screen-pop-marks.js';

/** Resolves after every pending paint callback (an animation frame, or the timer that stands in for one) has run. */
async function painted(): Promise<void> {
  await new Promise<void>((resolve) => (typeof requestAnimationFrame === 'function' ? requestAnimationFrame(() => setTimeout(resolve, 0)) : setTimeout(resolve, 0)));
}

const observers: { disconnect(): void }[] = [];
afterEach(() => {
  for (const observer of observers.splice(0)) observer.disconnect();
});

function observe(name: string): ReturnType<typeof observeMarks> {
  const observer = observeMarks(name);
  observers.push(observer);
  return observer;
}

describe('screen pop marks', () => {
  it('leaves no mark of a call in the timeline, and an observer gets each as it is made (issue 13 item 7)', async () => {
    const paints = observe(SCREENPOP_PAINTED_MARK);
    const asks = observe(SCREENPOP_ASKED_MARK);
    markReceived('call-1', performance.now());
    markInvite('call-1', '0312345678');
    markAsked('call-1');
    markAnswered('call-1');
    markStored('call-1');
    markPaintedOnce('call-1', 'found', 'cust-1');
    markRefused('call-2');
    await painted();
    // Each kept mark was about 1 KB of the renderer's native memory, six a call.
    expect(performance.getEntriesByType('mark').filter((entry) => entry.name.startsWith('screenpop:'))).toEqual([]);
    await vi.waitFor(() => expect(paints.details()).toEqual([{ callId: 'call-1', phase: 'found', customerId: 'cust-1', committedAt: expect.any(Number) }]));
    expect(asks.details()).toEqual([{ callId: 'call-1' }]);
  });

  it('marks the first paint of a call once', async () => {
    const paints = observe(SCREENPOP_PAINTED_MARK);
    markPaintedOnce('call-3', 'found', 'cust-1');
    markPaintedOnce('call-3', 'found', 'cust-1');
    markPaintedOnce('call-4', 'unknown', null);
    await painted();
    await vi.waitFor(() => expect(paints.details().map((detail) => detail.callId)).toEqual(['call-3', 'call-4']));
  });

  it('never reads the timeline back at a call: the work per call stays the same however many calls were taken (issue 13 item 7)', async () => {
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
