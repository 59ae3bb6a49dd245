import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { correctedTimestamp, MAX_FUTURE_MS, normalizeMessage } from './normalize-message.js';
import { toSegmentShape } from './segment-shape.js';
import { validateMessage } from './validate-message.js';

const T = Date.UTC(2025, 0, 10, 12, 0, 0);
const ctx = { workspaceId: 'w', receivedAt: T, seq: 7, ip: '10.0.0.9', newMessageId: () => 'generated-id' };

function normalize(raw: Record<string, unknown>, extra: Partial<typeof ctx> & { envelope?: object } = {}) {
  const v = validateMessage(raw, 'track');
  if (!v.ok) throw new Error(v.error.message);
  const r = normalizeMessage(v.value, { ...ctx, ...extra });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('correctedTimestamp (Segment clock-skew rules)', () => {
  it('shifts by the device clock error: receivedAt − (sentAt − timestamp)', () => {
    // Device clock 1 h fast: it said the event happened 10 s before sending.
    const sentAt = T + 3_600_000;
    expect(correctedTimestamp(sentAt - 10_000, sentAt, T)).toBe(T - 10_000);
  });
  it('keeps the given timestamp without sentAt (historical import)', () => {
    expect(correctedTimestamp(T - 86_400_000 * 400, null, T)).toBe(T - 86_400_000 * 400);
  });
  it('uses receivedAt without a timestamp', () => {
    expect(correctedTimestamp(null, T - 5, T)).toBe(T);
  });
  it('clamps results more than 23 h in the future to receivedAt', () => {
    expect(correctedTimestamp(T + MAX_FUTURE_MS + 1, null, T)).toBe(T);
    expect(correctedTimestamp(T + MAX_FUTURE_MS, null, T)).toBe(T + MAX_FUTURE_MS);
  });
});

describe('normalizeMessage', () => {
  it('fills messageId, ip and keeps originalTimestamp', () => {
    const e = normalize({ userId: 'u', event: 'E', timestamp: '2025-01-10T11:00:00Z' });
    expect(e).toMatchObject({
      messageId: 'generated-id',
      ip: '10.0.0.9',
      originalTimestamp: T - 3_600_000,
      timestamp: T - 3_600_000,
      seq: 7,
    });
  });

  it('merges the batch envelope context and sentAt, message fields winning', () => {
    const e = normalize(
      { userId: 'u', event: 'E', timestamp: '2025-01-10T13:00:00Z', context: { locale: 'de' } },
      { envelope: { context: { locale: 'en', library: { name: 'x' } }, sentAt: T + 3_600_000 + 1000 } },
    );
    expect(JSON.parse(e.context!)).toEqual({ locale: 'de', library: { name: 'x' } });
    expect(e.timestamp).toBe(T - 1000);
  });

  it('prefers a client-supplied context.ip', () => {
    expect(normalize({ userId: 'u', event: 'E', context: { ip: '1.2.3.4' } }).ip).toBe('1.2.3.4');
  });

  it('rejects messages over 32 KB', () => {
    const v = validateMessage({ userId: 'u', event: 'E', properties: { blob: 'x'.repeat(33_000) } }, 'track');
    const r = v.ok && normalizeMessage(v.value, ctx);
    expect(r).toMatchObject({ ok: false, error: { code: 'message_too_large' } });
  });

  it('gives retries the same fingerprint and changed payloads a different one', () => {
    const a = normalize({ userId: 'u', event: 'E', messageId: 'm', sentAt: '2025-01-10T12:00:00Z' });
    const b = normalize(
      { userId: 'u', event: 'E', messageId: 'm', sentAt: '2025-01-10T12:00:05Z' },
      { seq: 9 },
    );
    const c = normalize({ userId: 'u', event: 'F', messageId: 'm' });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).not.toBe(c.fingerprint);
  });

  it('replaces unpaired surrogates (not valid Unicode) with U+FFFD and keeps real pairs', () => {
    const e = normalize({ userId: 'u\ud800', event: 'E 😀', properties: { bad: 'x\udc00y', ok: '😀' } });
    expect(e.userId).toBe('u\ufffd');
    expect(e.event).toBe('E 😀');
    expect(JSON.parse(e.properties!)).toEqual({ bad: 'x\ufffdy', ok: '😀' });
  });

  it('keeps typed backslash-u text exactly (only real lone surrogates are replaced)', () => {
    const typed = { a: '\\ud800', b: 'C:\\uDC00\\x', '\\udbff': 'key', c: '\\\\ud800' };
    const e = normalize({ userId: 'u', event: 'E', properties: typed, traits: typed, note: '\\ud83d' });
    expect(JSON.parse(e.properties!)).toEqual(typed);
    expect(JSON.parse(e.traits!)).toEqual(typed);
    expect(JSON.parse(e.extra!)).toEqual({ note: '\\ud83d' });
  });

  it('replaces lone surrogates in keys, after an escaped backslash, and back to back', () => {
    const e = normalize({
      userId: 'u',
      event: 'E',
      properties: { 'k\udfff': '\\\ud800', twice: '\udc00\ud800', pair: '\ud83d\ude00' },
    });
    expect(JSON.parse(e.properties!)).toEqual({
      'k\ufffd': '\\\ufffd',
      twice: '\ufffd\ufffd',
      pair: '😀',
    });
  });

  it('stores any text as its well-formed self, in keys and values (property)', () => {
    // Backslashes, the letters of an escape and surrogate halves, in any order.
    const pieces = ['\\', 'u', 'd', '8', 'f', '0', 'x', '\ud800', '\udbff', '\udc00', '\ude00', '😀'];
    const text = fc.string({ unit: fc.constantFrom(...pieces), maxLength: 12 });
    fc.assert(
      fc.property(fc.dictionary(text, text), (properties) => {
        const stored = JSON.parse(normalize({ userId: 'u', event: 'E', properties }).properties!);
        const expected = Object.fromEntries(
          Object.entries(properties).map(([k, v]) => [k.toWellFormed(), v.toWellFormed()]),
        );
        expect(stored).toEqual(expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('answers nesting_too_deep, not a throw, for an envelope too deep to serialise', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 5_000; i++) deep = { a: deep };
    const v = validateMessage({ userId: 'u', event: 'E' }, 'track');
    const r = v.ok && normalizeMessage(v.value, { ...ctx, envelope: { integrations: deep as never } });
    expect(r).toMatchObject({ ok: false, error: { code: 'nesting_too_deep', field: 'integrations' } });
  });

  it('reads back in Segment shape', () => {
    const e = normalize({ userId: 'u', event: 'E', properties: { n: 1 }, category: 'c' });
    expect(toSegmentShape(e)).toEqual({
      type: 'track',
      messageId: 'generated-id',
      userId: 'u',
      event: 'E',
      properties: { n: 1 },
      context: { ip: '10.0.0.9' },
      category: 'c',
      timestamp: new Date(T).toISOString(),
      originalTimestamp: null,
      sentAt: null,
      receivedAt: new Date(T).toISOString(),
    });
  });
});
