import { describe, expect, it } from 'vitest';
import { withoutSchedulingWarnings } from './sipp.js';

describe('SIPp error log', () => {
  const heading = 'The following events occurred:';
  const overload = '2026-12-06\t04:54:51.595407\t1796532891.595407: Overload warning: the minor watchdog timer 500ms has been tripped (712), 119 trips remaining.';
  const unexpected = '2026-12-06\t04:54:52.000000\t1796532892.000000: Aborting call on unexpected message for Call-Id \'1-2@127.0.0.1\': while expecting \'180\' (index 1), received \'SIP/2.0 480 Temporarily Unavailable';

  it('is empty when SIPp only noted that a busy machine scheduled it late', () => {
    expect(withoutSchedulingWarnings(`${heading}\n${overload}\n`)).toBe('');
    expect(withoutSchedulingWarnings('')).toBe('');
  });

  it('keeps every event about the call', () => {
    expect(withoutSchedulingWarnings(`${heading}\n${overload}\n${unexpected}\n`)).toBe(`${heading}\n${unexpected}`);
  });
});
