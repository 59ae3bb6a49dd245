import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineOfMessage, prettyJson } from '../../web/src/json-lines.js';

// The settings editor's pretty-printer and its line lookup (web/src/json-lines.ts).
describe('prettyJson', () => {
  it('writes exactly what JSON.stringify(value, null, 2) writes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(prettyJson(v).text).toBe(JSON.stringify(v, null, 2));
      }),
    );
  });

  it('knows the line of every path', () => {
    const doc = {
      channels: { rules: [{ channel: 'X', when: { field: 'utm_source', op: 'inn' } }] },
      stagePreset: 'b2b',
    };
    const { text, lineOf } = prettyJson(doc);
    const lines = text.split('\n');
    expect(lines[(lineOf.get('channels.rules[0].when.op') as number) - 1]?.trim()).toBe('"op": "inn"');
    expect(lines[(lineOf.get('stagePreset') as number) - 1]?.trim()).toBe('"stagePreset": "b2b"');
  });
});

describe('lineOfMessage', () => {
  const { lineOf } = prettyJson({ channels: { rules: [{ channel: 'X', when: { field: 'f', op: 'inn' } }] } });
  it('finds the path a server message names', () => {
    expect(lineOfMessage('journey settings: channels.rules[0].when.op: unknown op "inn"', lineOf)).toBe(
      lineOf.get('channels.rules[0].when.op'),
    );
  });
  it('points a missing key at its parent, and gives nothing for a message without a path', () => {
    expect(lineOfMessage('channels.rules[0].when.value: required', lineOf)).toBe(
      lineOf.get('channels.rules[0].when'),
    );
    expect(lineOfMessage('the server failed', lineOf)).toBeUndefined();
    // zod names array elements with dots.
    expect(lineOfMessage('identity settings: channels.rules.0.when.op: bad', lineOf)).toBe(
      lineOf.get('channels.rules[0].when.op'),
    );
  });
});
