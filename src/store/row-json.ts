import type { QuarantinedMessage, StoredEvent } from '../core/spec/message.js';

/**
 * Rows travel to DuckDB as JSON (bound to a statement or spooled to a file) because DuckDB then
 * parses them on its own threads. Short keys keep the text small; the column specs below are
 * the one place that maps them back to columns.
 */
export const EVENT_ROW_COLUMNS = `{"w":"VARCHAR","s":"BIGINT","m":"VARCHAR","t":"VARCHAR","e":"VARCHAR",
    "n":"VARCHAR","u":"VARCHAR","a":"VARCHAR","g":"VARCHAR","pv":"VARCHAR","ts":"BIGINT","ot":"BIGINT","sa":"BIGINT",
    "ra":"BIGINT","ip":"VARCHAR","p":"JSON","tr":"JSON","c":"JSON","i":"JSON","x":"JSON","f":"VARCHAR"}`;

/** The events table's columns, in order, from a relation `r` of event rows. */
export const EVENT_ROW_SELECT = `r.w, r.s, r.m, r.t, r.e, r.n, r.u, r.a, r.g, r.pv,
    make_timestamp(r.ts * 1000), make_timestamp(r.ot * 1000), make_timestamp(r.sa * 1000), make_timestamp(r.ra * 1000),
    r.ip, r.p, r.tr, r.c, r.i, r.x, r.f`;

export const QUARANTINE_ROW_COLUMNS = `{"w":"VARCHAR","ra":"BIGINT","rq":"VARCHAR","bi":"INTEGER",
    "m":"VARCHAR","co":"VARCHAR","re":"VARCHAR","fd":"VARCHAR","pl":"VARCHAR"}`;

export const QUARANTINE_ROW_SELECT =
  'r.w, make_timestamp(r.ra * 1000), r.rq, r.bi, r.m, r.co, r.re, r.fd, r.pl';

const str = (v: string | null): string => (v === null ? 'null' : JSON.stringify(v));
const num = (v: number | null): string => (v === null ? 'null' : String(v));
const raw = (json: string | null): string => json ?? 'null';

/** One event as a JSON object text; its JSON parts are already serialised and go in as they are. */
export function eventRow(e: StoredEvent): string {
  return (
    `{"w":${str(e.workspaceId)},"s":${e.seq},"m":${str(e.messageId)},"t":"${e.type}","e":${str(e.event)},` +
    `"n":${str(e.name)},"u":${str(e.userId)},"a":${str(e.anonymousId)},"g":${str(e.groupId)},` +
    `"pv":${str(e.previousId)},"ts":${e.timestamp},"ot":${num(e.originalTimestamp)},"sa":${num(e.sentAt)},` +
    `"ra":${e.receivedAt},"ip":${str(e.ip)},"p":${raw(e.properties)},"tr":${raw(e.traits)},` +
    `"c":${raw(e.context)},"i":${raw(e.integrations)},"x":${raw(e.extra)},"f":${str(e.fingerprint)}}`
  );
}

export function eventsJson(events: StoredEvent[]): string {
  return `[${events.map(eventRow).join(',')}]`;
}

/** Payloads are arbitrary client text: made valid Unicode so the JSON itself is valid. */
export function quarantineRow(q: QuarantinedMessage): string {
  return JSON.stringify({
    w: q.workspaceId,
    ra: q.receivedAt,
    rq: q.requestId,
    bi: q.batchIndex,
    m: q.messageId?.toWellFormed() ?? null,
    co: q.code,
    re: q.reason.toWellFormed(),
    fd: q.field?.toWellFormed() ?? null,
    pl: q.payload.toWellFormed(),
  });
}

export function quarantineJson(rows: QuarantinedMessage[]): string {
  return `[${rows.map(quarantineRow).join(',')}]`;
}
