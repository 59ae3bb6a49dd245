import { describe, expect, it } from 'vitest';
import { validateMessage } from './validate-message.js';

const base = { userId: 'u1' };

describe('validateMessage', () => {
  it('accepts each call type with its required fields', () => {
    expect(validateMessage({ ...base, event: 'Signed Up' }, 'track').ok).toBe(true);
    expect(validateMessage({ ...base, traits: { email: 'a@b.c' } }, 'identify').ok).toBe(true);
    expect(validateMessage({ anonymousId: 'a1', name: 'Home' }, 'page').ok).toBe(true);
    expect(validateMessage({ ...base, name: 'Feed' }, 'screen').ok).toBe(true);
    expect(validateMessage({ ...base, groupId: 'acme' }, 'group').ok).toBe(true);
    expect(validateMessage({ userId: 'u2', previousId: 'a1' }, 'alias').ok).toBe(true);
  });

  it.each([
    [{ event: 'x' }, 'track', 'missing_field', 'userId'],
    [{ ...base }, 'track', 'missing_field', 'event'],
    [{ ...base, event: '   ' }, 'track', 'missing_field', 'event'],
    [{ ...base }, 'group', 'missing_field', 'groupId'],
    [{ userId: 'u' }, 'alias', 'missing_field', 'previousId'],
    [{ anonymousId: 'a', previousId: 'p' }, 'alias', 'missing_field', 'userId'],
    [{ ...base, event: 42 }, 'track', 'invalid_type', 'event'],
    [{ userId: true, event: 'x' }, 'track', 'invalid_type', 'userId'],
    [{ ...base, properties: [1, 2] }, 'identify', 'invalid_type', 'properties'],
    [{ ...base, traits: 'vip' }, 'identify', 'invalid_type', 'traits'],
    [{ ...base, timestamp: 'soon' }, 'identify', 'invalid_timestamp', 'timestamp'],
    [{ ...base, sentAt: 1700000000 }, 'identify', 'invalid_type', 'sentAt'],
    [{ ...base, messageId: 'm'.repeat(101) }, 'identify', 'invalid_value', 'messageId'],
    [{ ...base, type: 'identify' }, 'track', 'invalid_value', 'type'],
  ] as const)('rejects %j on %s with %s at %s', (msg, type, code, field) => {
    const r = validateMessage(msg, type);
    expect(r).toMatchObject({ ok: false, error: { code, field } });
  });

  it('requires a known type on batch items', () => {
    expect(validateMessage({ ...base })).toMatchObject({
      ok: false,
      error: { code: 'missing_field', field: 'type' },
    });
    expect(validateMessage({ ...base, type: 'click' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_value', field: 'type' },
    });
    expect(validateMessage('track')).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
  });

  it('turns numeric ids into strings and treats blank ids as absent', () => {
    const r = validateMessage({ userId: 42, anonymousId: '  ', event: 'x' }, 'track');
    expect(r).toMatchObject({ ok: true, value: { userId: '42' } });
    expect(r.ok && r.value.anonymousId).toBeUndefined();
  });

  it('keeps unknown top-level fields instead of dropping them', () => {
    const r = validateMessage({ ...base, name: 'Docs', category: 'Help', _metadata: { v: 1 } }, 'page');
    expect(r).toMatchObject({ ok: true, value: { extra: { category: 'Help', _metadata: { v: 1 } } } });
  });

  it('rejects hostile nesting without overflowing the stack', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    const r = validateMessage({ ...base, event: 'x', properties: deep }, 'track');
    expect(r).toMatchObject({ ok: false, error: { code: 'nesting_too_deep', field: 'properties' } });
  });

  it('reports hostile nesting in a field whose error would quote it, instead of throwing', () => {
    // Past V8's recursion limit for JSON.stringify, which the error message used to call.
    const deep = JSON.parse(`${'['.repeat(5_000)}1${']'.repeat(5_000)}`);
    for (const pathType of ['track', undefined] as const) {
      expect(validateMessage({ ...base, type: deep, event: 'x' }, pathType)).toMatchObject({
        ok: false,
        error: { code: 'nesting_too_deep', field: 'type' },
      });
    }
    expect(validateMessage({ ...base, event: deep }, 'track')).toMatchObject({
      ok: false,
      error: { code: 'nesting_too_deep', field: 'event' },
    });
  });

  it('still quotes a shallow bad type in its error', () => {
    expect(validateMessage({ ...base, type: ['track'] })).toMatchObject({
      ok: false,
      error: { code: 'invalid_value', field: 'type', message: expect.stringContaining('["track"]') },
    });
  });

  it('keeps a top-level "__proto__" field as a field, not as the prototype of extra', () => {
    const r = validateMessage(JSON.parse('{"userId":"u","event":"x","__proto__":{"a":1},"b":2}'), 'track');
    expect(r.ok).toBe(true);
    expect(r.ok && JSON.stringify(r.value.extra)).toBe('{"__proto__":{"a":1},"b":2}');
  });

  it('keeps unicode and NUL characters as they are', () => {
    const r = validateMessage({ userId: 'ü\u0000😀', event: 'Köp 🛒' }, 'track');
    expect(r).toMatchObject({ ok: true, value: { userId: 'ü\u0000😀', event: 'Köp 🛒' } });
  });
});
