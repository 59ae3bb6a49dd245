import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_OPTIONS, type SessionInput, type SessionOptions, sessionize } from './sessions.js';

const view = (iso: string, campaignKey: string | null = null): SessionInput => ({
  timestamp: Date.parse(`${iso}Z`),
  campaignKey,
  isView: true,
  isConversion: false,
});
const ga4 = DEFAULT_SESSION_OPTIONS;
const ua: SessionOptions = { ...DEFAULT_SESSION_OPTIONS, style: 'ua' };

describe('reference cases (peer-cases.json, session)', () => {
  it('session_midnight_ua_vs_ga4: 23:50 → 00:05 → 00:10 is two UA sessions, one GA4 session', () => {
    const events = [view('2020-08-14T23:50:00'), view('2020-08-15T00:05:00'), view('2020-08-15T00:10:00')];
    expect(sessionize(events, ua)).toHaveLength(2);
    expect(sessionize(events, ga4)).toHaveLength(1);
  });

  it('session_campaign_change_ua_vs_ga4: UA splits on a new campaign, a direct hit inherits it', () => {
    const events = [
      view('2021-01-01T10:00:00', 'google/organic'),
      view('2021-01-01T10:10:00', 'newsletter/email/jan'),
      view('2021-01-01T10:15:00'),
    ];
    const u = sessionize(events, ua);
    expect(u.map((s) => [s.first, s.last, s.entryCampaignKey])).toEqual([
      [0, 0, 'google/organic'],
      [1, 2, 'newsletter/email/jan'],
    ]);
    expect(sessionize(events, ga4)).toHaveLength(1);
  });
});

describe('boundaries and measures', () => {
  it('splits after more than the inactivity timeout, not at exactly the timeout', () => {
    const at = (min: number) => ({
      ...view('2026-01-01T00:00:00'),
      timestamp: Date.UTC(2026, 0, 1) + min * 60_000,
    });
    expect(sessionize([at(0), at(30), at(61)]).map((s) => s.eventCount)).toEqual([2, 1]);
  });

  it('caps a session at its maximum length', () => {
    const events = Array.from({ length: 60 }, (_, i) => ({
      ...view('2026-01-01T00:00:00'),
      timestamp: i * 29 * 60_000,
    }));
    const s = sessionize(events, { ...ga4, maxLengthMs: 24 * 3_600_000 });
    expect(s.length).toBeGreaterThan(1);
    for (const x of s) expect(x.durationMs).toBeLessThan(24 * 3_600_000);
  });

  it('midnight follows the configured time zone', () => {
    // 22:50 and 23:10 UTC are 00:50 and 01:10 in Berlin (summer): no midnight between them there.
    const events = [view('2026-07-01T21:50:00'), view('2026-07-01T22:10:00')];
    expect(sessionize(events, ua)).toHaveLength(1);
    expect(sessionize(events, { ...ua, timeZone: 'Europe/Berlin' })).toHaveLength(2);
  });

  it('a bounce is short, with one view and no conversion', () => {
    const one = sessionize([view('2026-01-01T10:00:00')]);
    expect(one[0]).toMatchObject({ bounce: true, eventCount: 1, durationMs: 0 });
    const two = sessionize([view('2026-01-01T10:00:00'), view('2026-01-01T10:00:05')]);
    expect(two[0]?.bounce).toBe(false);
    const converted = sessionize([{ ...view('2026-01-01T10:00:00'), isView: false, isConversion: true }]);
    expect(converted[0]?.bounce).toBe(false);
  });

  it('sessions partition the events, in order; UA never has fewer sessions than GA4', () => {
    const input = fc.array(
      fc.record({
        gapMin: fc.integer({ min: 0, max: 120 }),
        campaign: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: null }),
      }),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(input, (raw) => {
        let t = Date.UTC(2026, 0, 1, 20);
        const events = raw.map((r) => {
          t += r.gapMin * 60_000;
          return { timestamp: t, campaignKey: r.campaign, isView: true, isConversion: false };
        });
        for (const style of [ga4, ua]) {
          const s = sessionize(events, style);
          expect(s.reduce((n, x) => n + x.eventCount, 0)).toBe(events.length);
          s.forEach((x, i) => {
            expect(x.first).toBe(i === 0 ? 0 : (s[i - 1]?.last ?? -1) + 1);
            for (let k = x.first + 1; k <= x.last; k++) {
              expect(events[k]!.timestamp - events[k - 1]!.timestamp).toBeLessThanOrEqual(style.timeoutMs);
            }
          });
        }
        expect(sessionize(events, ua).length).toBeGreaterThanOrEqual(sessionize(events, ga4).length);
      }),
    );
  });
});
