import { describe, expect, it } from 'vitest';
import { isKnownTimeZone, isOpen, nextOpening } from './hours.js';

const WEEKDAYS_9_TO_18 = { timeZone: 'Asia/Tokyo', days: [1, 2, 3, 4, 5], opensAt: '09:00', closesAt: '18:00' };

describe('call-me hours', () => {
  it('is open inside the hours of an open day, in the tenant’s time zone', () => {
    // Monday 2026-12-07 10:00 in Tokyo is 01:00 UTC.
    expect(isOpen(WEEKDAYS_9_TO_18, new Date('2026-12-07T01:00:00Z'))).toBe(true);
    expect(nextOpening(WEEKDAYS_9_TO_18, new Date('2026-12-07T01:00:00Z'))?.toISOString()).toBe('2026-12-07T01:00:00.000Z');
    // 18:00 is closed already.
    expect(isOpen(WEEKDAYS_9_TO_18, new Date('2026-12-07T09:00:00Z'))).toBe(false);
  });

  it('books the next opening: later today, tomorrow, or after the weekend', () => {
    // Monday 07:30 Tokyo → Monday 09:00.
    expect(nextOpening(WEEKDAYS_9_TO_18, new Date('2026-12-06T22:30:00Z'))?.toISOString()).toBe('2026-12-07T00:00:00.000Z');
    // Monday 19:00 Tokyo → Tuesday 09:00.
    expect(nextOpening(WEEKDAYS_9_TO_18, new Date('2026-12-07T10:00:00Z'))?.toISOString()).toBe('2026-12-08T00:00:00.000Z');
    // Friday 20:00 Tokyo → Monday 09:00.
    expect(nextOpening(WEEKDAYS_9_TO_18, new Date('2026-12-11T11:00:00Z'))?.toISOString()).toBe('2026-12-14T00:00:00.000Z');
  });

  it('follows daylight saving time where the zone has it', () => {
    const newYork = { timeZone: 'America/New_York', days: [0, 1, 2, 3, 4, 5, 6], opensAt: '09:00', closesAt: '17:00' };
    // Saturday 2026-03-07 20:00 EST → Sunday 2026-03-08 09:00 EDT (13:00 UTC), the day clocks go forward.
    expect(nextOpening(newYork, new Date('2026-03-08T01:00:00Z'))?.toISOString()).toBe('2026-03-08T13:00:00.000Z');
    // In winter 09:00 is 14:00 UTC.
    expect(nextOpening(newYork, new Date('2026-01-10T01:00:00Z'))?.toISOString()).toBe('2026-01-10T14:00:00.000Z');
  });

  it('never opens without open days, and knows real time zones from made-up ones', () => {
    expect(nextOpening({ ...WEEKDAYS_9_TO_18, days: [] }, new Date())).toBeNull();
    expect(isKnownTimeZone('Asia/Tokyo')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus')).toBe(false);
  });
});
