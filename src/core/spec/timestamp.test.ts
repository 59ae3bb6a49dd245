import { describe, expect, it } from 'vitest';
import { parseTimestamp } from './timestamp.js';

describe('parseTimestamp', () => {
  it('reads zoned, fractional and zone-less forms as the same instant', () => {
    const z = Date.UTC(2024, 4, 1, 12, 30, 15, 123);
    expect(parseTimestamp('2024-05-01T12:30:15.123Z')).toEqual({ ok: true, value: z });
    expect(parseTimestamp('2024-05-01T14:30:15.123+02:00')).toEqual({ ok: true, value: z });
    expect(parseTimestamp('2024-05-01T07:30:15.123-0500')).toEqual({ ok: true, value: z });
    expect(parseTimestamp('2024-05-01T12:30:15.123456')).toEqual({ ok: true, value: z });
    expect(parseTimestamp('2024-05-01')).toEqual({ ok: true, value: Date.UTC(2024, 4, 1) });
  });

  it('rejects non-dates and impossible dates with the offending text', () => {
    for (const bad of ['yesterday', '2024-13-01T00:00:00Z', '2024-02-31', '1700000000', '']) {
      const r = parseTimestamp(bad);
      expect(r.ok).toBe(false);
    }
    const r = parseTimestamp('not a date');
    expect(!r.ok && r.error).toContain('not a date');
  });
});
