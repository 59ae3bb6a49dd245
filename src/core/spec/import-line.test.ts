import { describe, expect, it } from 'vitest';
import { importLine } from './import-line.js';

const ctx = { workspaceId: 'w', seq: 1, now: Date.UTC(2025, 0, 1), newMessageId: () => 'gen' };
const deepArray = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

describe('importLine', () => {
  it('imports a good line', () => {
    const r = importLine('{"type":"track","userId":"u","event":"e","messageId":"m"}', ctx);
    expect(r).toMatchObject({ ok: true, value: { messageId: 'm', event: 'e' } });
  });

  it('rejects hostile nesting in any field with a reason, never by throwing', () => {
    for (const field of ['type', 'event', 'userId', 'receivedAt', 'properties']) {
      const line = `{"type":"track","userId":"u","event":"e","messageId":"m-${field}","${field}":${deepArray(5_000)}}`;
      expect(importLine(line, ctx)).toMatchObject({
        ok: false,
        error: { code: 'nesting_too_deep', field, messageId: `m-${field}` },
      });
    }
  });

  it('survives a line a million levels deep (JSON.parse is iterative; the check is too)', () => {
    const line = `{"type":"track","userId":"u","event":"e","properties":{"d":${deepArray(1_000_000)}}}`;
    expect(importLine(line, ctx)).toMatchObject({
      ok: false,
      error: { code: 'nesting_too_deep', field: 'properties' },
    });
  });
});
