import { describe, expect, it } from 'vitest';
import { formatPhone } from './format.js';

describe('formatPhone', () => {
  it("shows the tenant region's numbers nationally and others internationally, asked again and again", () => {
    for (let round = 0; round < 3; round += 1) {
      expect(formatPhone('+81312345678', 'JP')).toBe('03-1234-5678');
      expect(formatPhone('+81312345678', 'US')).toBe('+81 3 1234 5678');
      expect(formatPhone('+81312345678', undefined)).toBe('03-1234-5678');
      expect(formatPhone('not a number', 'JP')).toBe('not a number');
    }
  });
});
