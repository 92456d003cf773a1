import { describe, expect, it } from 'vitest';
import { callbackDueAt, isOverdue } from './due-time.js';

describe('callbackDueAt', () => {
  const now = new Date(2026, 11, 6, 16, 45, 0);

  it('adds 30 minutes or an hour to now', () => {
    expect(callbackDueAt('30m', '', now)).toBe(new Date(2026, 11, 6, 17, 15).toISOString());
    expect(callbackDueAt('1h', '', now)).toBe(new Date(2026, 11, 6, 17, 45).toISOString());
  });

  it('makes tomorrow morning 9:00 local time of the next day, across a month end', () => {
    expect(callbackDueAt('tomorrowMorning', '', now)).toBe(new Date(2026, 11, 7, 9, 0).toISOString());
    expect(callbackDueAt('tomorrowMorning', '', new Date(2026, 11, 31, 23, 30))).toBe(new Date(2027, 0, 1, 9, 0).toISOString());
  });

  it('reads a custom datetime-local value as local time, and refuses one that is not a time', () => {
    expect(callbackDueAt('custom', '2026-12-08T14:30', now)).toBe(new Date(2026, 11, 8, 14, 30).toISOString());
    expect(callbackDueAt('custom', '', now)).toBeNull();
    expect(callbackDueAt('custom', 'tomorrow', now)).toBeNull();
    expect(callbackDueAt('custom', '2026-13-45T99:99', now)).toBeNull();
  });
});

describe('isOverdue', () => {
  it('compares the due time, or the flagging time when there is none, with now', () => {
    const now = Date.parse('2026-12-06T08:00:00.000Z');
    expect(isOverdue({ dueAt: '2026-12-06T07:59:59.000Z', flaggedAt: '2026-12-06T07:00:00.000Z' }, now)).toBe(true);
    expect(isOverdue({ dueAt: '2026-12-06T08:30:00.000Z', flaggedAt: '2026-12-06T07:00:00.000Z' }, now)).toBe(false);
    expect(isOverdue({ dueAt: null, flaggedAt: '2026-12-06T07:00:00.000Z' }, now)).toBe(true);
  });
});
