import { describe, expect, it } from 'vitest';
import { parseSourceDate } from './source-mapping.js';

describe('parseSourceDate', () => {
  it('reads epoch seconds and milliseconds, and hands everything else to parseTimestamp (no zone = UTC)', () => {
    const z = Date.UTC(2024, 4, 1, 12, 30, 15);
    expect(parseSourceDate('1714566615')).toBe(z);
    expect(parseSourceDate(1714566615)).toBe(z);
    expect(parseSourceDate('1714566615123')).toBe(z + 123);
    expect(parseSourceDate('2024-05-01')).toBe(Date.UTC(2024, 4, 1));
    expect(parseSourceDate(' 2024-05-01 12:30:15 ')).toBe(z);
    expect(parseSourceDate('2024-05-01T12:30:15.000Z')).toBe(z);
    expect(parseSourceDate('2024-05-01 14:30:15 +0200')).toBe(z);
  });

  it('refuses what is not a date, and impossible dates instead of rolling them over', () => {
    for (const bad of ['not-a-date', '12345678', '1714566615.5', '2024-02-31', '2024-5-1', '01/05/2024'])
      expect(parseSourceDate(bad)).toBeNull();
  });
});
