import { describe, expect, it } from 'vitest';
import { LIMITS } from './message.js';
import { parseBatch } from './parse-batch.js';

/** An object `levels` objects deep, counted as a message's own fields are (the field itself is 1). */
function deepObject(levels: number): Record<string, unknown> {
  let o: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) o = { a: o };
  return o;
}

const batch = [{ type: 'track', userId: 'u', event: 'e' }];

describe('parseBatch', () => {
  it('takes the batch and the envelope fields', () => {
    const r = parseBatch({ batch, context: { app: 'x' }, sentAt: '2025-01-01T00:00:00Z' });
    expect(r).toMatchObject({ ok: true, value: { messages: batch, envelope: { context: { app: 'x' } } } });
  });

  it.each(['context', 'integrations'] as const)(
    'holds the envelope %s to the message nesting limit, naming the field',
    (field) => {
      expect(parseBatch({ batch, [field]: deepObject(LIMITS.nestingDepth) }).ok).toBe(true);
      const over = parseBatch({ batch, [field]: deepObject(LIMITS.nestingDepth + 1) });
      expect(over).toMatchObject({ ok: false, error: { code: 'nesting_too_deep', field } });
      expect(!over.ok && over.error.message).toContain(field);
    },
  );

  it('refuses an envelope too deep for JSON.stringify without throwing', () => {
    const arrays = JSON.parse(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(parseBatch({ batch, integrations: arrays })).toMatchObject({
      ok: false,
      error: { code: 'nesting_too_deep', field: 'integrations' },
    });
  });
});
