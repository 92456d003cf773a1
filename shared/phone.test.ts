import { describe, expect, it } from 'vitest';
import { formatPhoneForDisplay, nationalDigits, phoneMatchingQuery, toE164 } from './phone.js';

describe('toE164', () => {
  it('reads a Tokyo number written the common ways', () => {
    for (const written of ['03-1234-5678', '0312345678', '+81 3 1234 5678', '０３－１２３４－５６７８', '(03) 1234-5678']) {
      expect(toE164(written), written).toBe('+81312345678');
    }
  });
  it('reads mobile numbers', () => {
    expect(toE164('090-1234-5678')).toBe('+819012345678');
  });
  it('uses the given region for national numbers', () => {
    expect(toE164('(202) 555-0143', 'US')).toBe('+12025550143');
  });
  it('rejects text that is not a phone number', () => {
    for (const bad of ['', 'abc', '12', '03-1234-5678\r\nX-Evil: 1', '1'.repeat(80), '山田']) {
      expect(toE164(bad), JSON.stringify(bad)).toBeNull();
    }
  });
  it('formats for display and search', () => {
    expect(formatPhoneForDisplay('+81312345678')).toBe('03-1234-5678');
    expect(nationalDigits('+81312345678')).toBe('0312345678');
  });
});

describe('phoneMatchingQuery', () => {
  const phones = [
    { e164: '+81312345678', kind: 'landline' },
    { e164: '+819087654321', kind: 'mobile' },
  ];
  it('picks the number the query names, however it is written, not the first one', () => {
    expect(phoneMatchingQuery(phones, '090-8765-4321')?.e164).toBe('+819087654321');
    expect(phoneMatchingQuery(phones, '+81 90 8765 4321')?.e164).toBe('+819087654321');
  });
  it('picks the number that contains a typed fragment', () => {
    expect(phoneMatchingQuery(phones, '8765')?.e164).toBe('+819087654321');
    expect(phoneMatchingQuery(phones, '03-1234')?.e164).toBe('+81312345678');
  });
  it('is null for a query that is not a number or matches none', () => {
    expect(phoneMatchingQuery(phones, '山田')).toBeNull();
    expect(phoneMatchingQuery(phones, '5555')).toBeNull();
    expect(phoneMatchingQuery(phones, '12')).toBeNull();
  });
});
