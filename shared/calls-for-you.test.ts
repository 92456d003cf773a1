import { describe, expect, it } from 'vitest';
import { listedSince, UNHANDLED_KEPT_DAYS } from './calls-for-you.js';

describe('listedSince', () => {
  const now = new Date('2026-12-07T09:00:00.000Z');
  const since = '2026-12-06T18:00:00.000Z';
  const listed = listedSince(since, now);
  const handled = { at: '2026-12-07T08:00:00.000Z', by: { id: 'u-rep', name: '営業 一郎' }, kind: 'contact' as const, contactId: null };
  const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();

  it('lists every call since the previous sign-in, handled or not', () => {
    expect(listed({ startedAt: '2026-12-07T08:30:00.000Z', handled: null })).toBe(true);
    expect(listed({ startedAt: since, handled })).toBe(true);
  });

  it('lists an older call within the window only while nobody handled it', () => {
    expect(listed({ startedAt: daysAgo(3), handled: null })).toBe(true);
    expect(listed({ startedAt: daysAgo(3), handled })).toBe(false);
  });

  it('never lists a call from before the window, even unhandled', () => {
    expect(listed({ startedAt: daysAgo(UNHANDLED_KEPT_DAYS + 1), handled: null })).toBe(false);
    // The window reaches back to the previous sign-in when that is earlier still.
    const longAgo = daysAgo(UNHANDLED_KEPT_DAYS + 5);
    expect(listedSince(longAgo, now)({ startedAt: daysAgo(UNHANDLED_KEPT_DAYS + 1), handled })).toBe(true);
  });
});
