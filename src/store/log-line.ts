import { crc32 } from 'node:zlib';
import type { MessageType } from '../core/spec/message.js';
import type { LogRecord } from '../services/event-log.js';
import { eventRow, quarantineRow } from './row-json.js';

/**
 * One log record is one line: the row JSON DuckDB's `read_json` loads (short keys, see
 * row-json.ts) plus `"k"` (e = event, q = quarantine) first and `"z"` (CRC-32 of everything
 * before it) last. The checksum tells a torn or corrupt record from a good one; `read_json`
 * ignores both extra keys, so a verified segment file is loaded as it is, with no copy.
 */

/** `,"z":"xxxxxxxx"}` */
const SUFFIX_LENGTH = 16;
/** `,"eg":1` before the checksum marks the last record of a group write (one acknowledgement). */
const GROUP_END = ',"eg":1';

/** One record's line; `endsGroup` on the last record of each write, so recovery keeps whole writes only. */
export function encodeRecord(r: LogRecord, endsGroup = false): string {
  const body =
    (r.kind === 'event'
      ? `{"k":"e",${eventRow(r.event).slice(1, -1)}`
      : `{"k":"q","s":${r.seq},${quarantineRow(r.row).slice(1, -1)}`) + (endsGroup ? GROUP_END : '');
  return `${body},"z":"${hex8(crc32(body))}"}\n`;
}

/** Whether a (checked) line is the last record of its group write. */
export function endsGroup(buf: Buffer, start: number, end: number): boolean {
  const from = end - SUFFIX_LENGTH - GROUP_END.length;
  return from > start && buf.toString('latin1', from, end - SUFFIX_LENGTH) === GROUP_END;
}

/** Why a line is not a good record, or null when its checksum holds. Works on raw bytes. */
export function checkLine(buf: Buffer, start: number, end: number): string | null {
  if (end - start <= SUFFIX_LENGTH) return 'record too short';
  const suffix = buf.toString('latin1', end - SUFFIX_LENGTH, end);
  if (!suffix.startsWith(',"z":"') || !suffix.endsWith('"}')) return 'record has no checksum';
  const expected = Number.parseInt(suffix.slice(6, 14), 16);
  if (crc32(buf.subarray(start, end - SUFFIX_LENGTH)) !== expected) return 'checksum mismatch';
  return null;
}

const EVENT_PREFIX = '{"k":"e","w":';
const FINGERPRINT_KEY = Buffer.from('"f":"');

/**
 * (workspace, messageId, fingerprint) of an event line without parsing the rest of it: what the
 * deduplication index needs at start-up, for every record not yet in the database. Null for a
 * quarantine record. Works on bytes: `"` and `\` never occur inside a UTF-8 multi-byte sequence.
 */
export function eventIdOf(buf: Buffer, start: number, end: number): [string, string, string] | null {
  if (buf[start + 6] !== 0x65) return null;
  const [ws, afterWs] = jsonStringAt(buf, start + EVENT_PREFIX.length);
  const idKey = buf.indexOf(',"m":', afterWs);
  const [messageId] = jsonStringAt(buf, idKey + 5);
  const f = buf.lastIndexOf(FINGERPRINT_KEY, end);
  const fpEnd = buf.indexOf(0x22, f + FINGERPRINT_KEY.length);
  return [ws, messageId, buf.toString('latin1', f + FINGERPRINT_KEY.length, fpEnd)];
}

/** The JSON string literal opening at `at`, and the offset after its closing quote. */
function jsonStringAt(buf: Buffer, at: number): [string, number] {
  let i = at + 1;
  let escaped = false;
  for (;;) {
    const c = buf[i];
    if (c === 0x5c) {
      escaped = true;
      i += 2;
      continue;
    }
    if (c === 0x22 || c === undefined) break;
    i++;
  }
  const value = escaped
    ? (JSON.parse(buf.toString('utf8', at, i + 1)) as string)
    : buf.toString('utf8', at + 1, i);
  return [value, i + 1];
}

interface RawRow {
  k: 'e' | 'q';
  s: number;
  w: string;
  m?: string | null;
  t?: MessageType;
  e?: string | null;
  n?: string | null;
  u?: string | null;
  a?: string | null;
  g?: string | null;
  pv?: string | null;
  ts?: number;
  ot?: number | null;
  sa?: number | null;
  ra: number;
  ip?: string | null;
  p?: unknown;
  tr?: unknown;
  c?: unknown;
  i?: unknown;
  x?: unknown;
  f?: string;
  rq?: string;
  bi?: number | null;
  co?: string;
  re?: string;
  fd?: string | null;
  pl?: string;
}

/** A verified line back into a record (catch-up and replays read the log this way). */
export function decodeRecord(line: string): LogRecord {
  const r = JSON.parse(line) as RawRow;
  if (r.k === 'q') {
    return {
      kind: 'quarantine',
      seq: r.s,
      row: {
        workspaceId: r.w,
        receivedAt: r.ra,
        requestId: r.rq ?? '',
        batchIndex: r.bi ?? null,
        messageId: r.m ?? null,
        code: r.co ?? '',
        reason: r.re ?? '',
        field: r.fd ?? null,
        payload: r.pl ?? '',
      },
    };
  }
  return {
    kind: 'event',
    seq: r.s,
    event: {
      workspaceId: r.w,
      seq: r.s,
      messageId: r.m as string,
      type: r.t as MessageType,
      event: r.e ?? null,
      name: r.n ?? null,
      userId: r.u ?? null,
      anonymousId: r.a ?? null,
      groupId: r.g ?? null,
      previousId: r.pv ?? null,
      timestamp: r.ts as number,
      originalTimestamp: r.ot ?? null,
      sentAt: r.sa ?? null,
      receivedAt: r.ra,
      ip: r.ip ?? null,
      properties: json(r.p),
      traits: json(r.tr),
      context: json(r.c),
      integrations: json(r.i),
      extra: json(r.x),
      fingerprint: r.f as string,
    },
  };
}

/** JSON parts are kept serialised in a StoredEvent. */
const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
