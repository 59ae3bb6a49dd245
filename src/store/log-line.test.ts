import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../core/spec/message.js';
import type { LogRecord } from '../services/event-log.js';
import { checkLine, decodeRecord, encodeRecord, endsGroup, eventIdOf } from './log-line.js';

const event = (over: Partial<StoredEvent> = {}): StoredEvent => ({
  workspaceId: 'ws "1"',
  seq: 7,
  messageId: 'ünï\\"çødé ✓',
  type: 'track',
  event: 'Order Completed',
  name: null,
  userId: 'u-1',
  anonymousId: null,
  groupId: null,
  previousId: null,
  timestamp: 1_700_000_000_000,
  originalTimestamp: null,
  sentAt: null,
  receivedAt: 1_700_000_000_500,
  ip: '127.0.0.1',
  properties: '{"revenue":9.5,"note":"\\"f\\":\\"not-the-fingerprint\\""}',
  traits: null,
  context: '{"page":{"url":"https://x.example/?a=1"}}',
  integrations: null,
  extra: null,
  fingerprint: 'AbCdEfGhIjKlMnOpQrStUv',
  ...over,
});

const line = (r: LogRecord, ends = false) => Buffer.from(encodeRecord(r, ends));

describe('log lines', () => {
  it('round-trip an event, with a checksum that holds and catches a changed byte', () => {
    const buf = line({ kind: 'event', seq: 7, event: event() });
    const end = buf.length - 1;
    expect(checkLine(buf, 0, end)).toBeNull();
    expect(decodeRecord(buf.toString('utf8', 0, end))).toEqual({ kind: 'event', seq: 7, event: event() });
    const bad = Buffer.from(buf);
    bad[40] = bad[40] === 0x61 ? 0x62 : 0x61;
    expect(checkLine(bad, 0, end)).toBe('checksum mismatch');
  });

  it('read the dedup key of an event without parsing the line, escapes and non-ASCII included', () => {
    const buf = line({ kind: 'event', seq: 7, event: event() }, true);
    expect(eventIdOf(buf, 0, buf.length - 1)).toEqual(['ws "1"', 'ünï\\"çødé ✓', 'AbCdEfGhIjKlMnOpQrStUv']);
    expect(endsGroup(buf, 0, buf.length - 1)).toBe(true);
    const q = line({
      kind: 'quarantine',
      seq: 8,
      row: {
        workspaceId: 'w',
        receivedAt: 0,
        requestId: 'r',
        batchIndex: null,
        messageId: 'm',
        code: 'invalid_body',
        reason: 'x',
        field: null,
        payload: '"f":"zz"',
      },
    });
    expect(eventIdOf(q, 0, q.length - 1)).toBeNull();
    expect(endsGroup(q, 0, q.length - 1)).toBe(false);
  });
});
