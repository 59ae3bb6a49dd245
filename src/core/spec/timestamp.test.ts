import { describe, expect, it, vi } from 'vitest';
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

  it('reads the forms exports write: a space before the zone, 24:00 as the end of the day', () => {
    const z = Date.UTC(2024, 4, 1, 12, 30, 15);
    expect(parseTimestamp('2024-05-01 12:30:15 +00:00')).toEqual({ ok: true, value: z });
    expect(parseTimestamp('2024-05-01 07:30:15 -0500')).toEqual({ ok: true, value: z });
    expect(parseTimestamp('2024-05-01 14:30:15+02')).toEqual({ ok: true, value: z });
    expect(parseTimestamp('2024-05-01 12:30')).toEqual({ ok: true, value: Date.UTC(2024, 4, 1, 12, 30) });
    expect(parseTimestamp('2024-05-01T24:00:00')).toEqual({ ok: true, value: Date.UTC(2024, 4, 2) });
    expect(parseTimestamp('2024-12-31T24:00Z')).toEqual({ ok: true, value: Date.UTC(2025, 0, 1) });
    for (const bad of [
      '2024-05-01T24:00:01',
      '2024-05-01T24:30',
      '2024-05-01T25:00',
      '2024-05-01 12:30:15 UTC',
    ])
      expect(parseTimestamp(bad).ok).toBe(false);
  });

  it('reads a time without a zone as UTC, whatever zone the process runs in', () => {
    vi.stubEnv('TZ', 'America/New_York');
    try {
      // The zone took effect: Date.parse reads the same text as New York time (UTC-4 in May).
      expect(Date.parse('2024-05-01T12:30:15')).toBe(Date.UTC(2024, 4, 1, 16, 30, 15));
      expect(parseTimestamp('2024-05-01T12:30:15')).toEqual({
        ok: true,
        value: Date.UTC(2024, 4, 1, 12, 30, 15),
      });
      expect(parseTimestamp('2024-05-01')).toEqual({ ok: true, value: Date.UTC(2024, 4, 1) });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('rejects non-dates and impossible dates with the offending text', () => {
    for (const bad of ['yesterday', '2024-13-01T00:00:00Z', '2024-02-31', '1700000000', '']) {
      const r = parseTimestamp(bad);
      expect(r.ok).toBe(false);
    }
    const r = parseTimestamp('not a date');
    expect(!r.ok && r.error).toContain('not a date');
  });

  it('reads years before 100 as those years (Date.UTC would make 0050 into 1950)', () => {
    const r = parseTimestamp('0050-01-01');
    expect(r.ok && new Date(r.value).toISOString()).toBe('0050-01-01T00:00:00.000Z');
    const leap = parseTimestamp('0004-02-29T12:00:00Z');
    expect(leap.ok && new Date(leap.value).toISOString()).toBe('0004-02-29T12:00:00.000Z');
  });

  it('refuses zone offsets no zone has', () => {
    for (const bad of [
      '2026-01-01T00:00:00+99:99',
      '2026-01-01T00:00:00-24:00',
      '2026-01-01T00:00:00+05:60',
    ]) {
      const r = parseTimestamp(bad);
      expect(r.ok, bad).toBe(false);
      expect(!r.ok && r.error).toContain('zone offset');
    }
    expect(parseTimestamp('2026-01-01T00:00:00+23:59').ok).toBe(true);
  });
});

describe('the canonical SDK form takes a fast path with the same answers', () => {
  it('agrees with the general parser, and still refuses impossible days', () => {
    expect(parseTimestamp('2024-05-01T12:30:15.123Z')).toEqual({
      ok: true,
      value: Date.UTC(2024, 4, 1, 12, 30, 15, 123),
    });
    expect(parseTimestamp('2024-02-29T23:59:59.999Z')).toEqual({
      ok: true,
      value: Date.UTC(2024, 1, 29, 23, 59, 59, 999),
    });
    expect(parseTimestamp('2023-02-29T00:00:00.000Z').ok).toBe(false);
    expect(parseTimestamp('2024-04-31T00:00:00.000Z').ok).toBe(false);
    expect(parseTimestamp('2024-01-01T24:00:00.000Z')).toEqual({ ok: true, value: Date.UTC(2024, 0, 2) });
    expect(parseTimestamp('2024-01-01T24:00:01.000Z').ok).toBe(false);
  });
});
