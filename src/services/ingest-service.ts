import type { ErrorCode } from '../core/error-codes.js';
import { CompiledRules, DEFAULT_RULES } from '../core/identity/identity-rules.js';
import { DedupIndex, type DedupVerdict } from '../core/spec/dedup-index.js';
import type { MessageType, QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import { type BatchEnvelope, normalizeMessage } from '../core/spec/normalize-message.js';
import { messageIdOf, validateMessage } from '../core/spec/validate-message.js';
import type { EventLog, LogRecord } from './event-log.js';
import type { Suppression } from './identity-ports.js';
import type { Clock, EventStore } from './ports.js';
import { SuppressionList } from './suppression-list.js';

const DEFAULT_COMPILED = new CompiledRules(DEFAULT_RULES);

/** Counters the ingest path reports; main.ts wires them to Prometheus. */
export interface IngestObserver {
  received(n: number): void;
  accepted(n: number): void;
  rejected(code: string, n: number): void;
  deduplicated(n: number): void;
  /** Messages dropped because they carry a suppressed identifier (deleted persons). */
  suppressed(n: number): void;
  conflicting(n: number): void;
  committed(rows: number, seconds: number): void;
}

/** For collectors nobody scrapes (offline imports, tests). */
export const NO_OBSERVER: IngestObserver = {
  received: () => undefined,
  accepted: () => undefined,
  rejected: () => undefined,
  deduplicated: () => undefined,
  suppressed: () => undefined,
  conflicting: () => undefined,
  committed: () => undefined,
};

export interface IngestOptions {
  dedupWindowMs: number;
  /** Above this many rows waiting for the log, new requests are turned away with `overloaded`. */
  maxPendingRows: number;
}

export interface IngestRequest {
  workspaceId: string;
  requestId: string;
  ip: string | null;
  messages: unknown[];
  /** Set for single-message endpoints (`/v1/track` …): the type the path implies. */
  pathType?: MessageType;
  envelope?: BatchEnvelope;
  /** The request body text, kept in quarantine as sent when a single call is rejected. */
  rawBody: string;
}

export interface MessageFailure {
  index: number;
  code: ErrorCode;
  message: string;
  field?: string;
}

export interface IngestOutcome {
  accepted: number;
  duplicates: number;
  /** Dropped on purpose: they carry an identifier of a deleted, suppressed person. */
  suppressed: number;
  failures: MessageFailure[];
}

export interface RequestRejection {
  workspaceId: string;
  requestId: string;
  code: ErrorCode;
  reason: string;
  payload: string;
}

/**
 * The collector's use case: validate → normalise → deduplicate → append to the ingest log.
 * Resolves only once every accepted and quarantined row of the request is durable in the log,
 * and a duplicate only once the original it repeats is durable too.
 */
export class IngestService {
  private dedup: DedupIndex;
  private seq = 0;
  private pending = 0;
  /** Ids appended but not yet durable → that append: a retry of one must wait for it. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Workspaces whose whole stored history is in the index, and since when. */
  private readonly allRemembered = new Map<string, number>();
  private ready = false;
  private started: () => void = () => undefined;
  /** Resolves once `start` is done: seqs handed out before it could repeat stored ones. */
  private readonly whenStarted = new Promise<void>((resolve) => {
    this.started = resolve;
  });
  /** Identifiers of deleted persons whose messages are dropped here, before the log (hashes only). */
  private readonly suppressed = new SuppressionList();
  /** The workspace's identity rules: which identifiers an event carries (custom paths, phones). */
  rulesOf: (workspaceId: string) => CompiledRules = () => DEFAULT_COMPILED;

  constructor(
    private readonly log: EventLog,
    private readonly clock: Clock,
    private readonly newId: () => string,
    private readonly observer: IngestObserver,
    private readonly options: IngestOptions,
  ) {
    this.dedup = new DedupIndex(options.dedupWindowMs, clock.now());
  }

  /**
   * Continues the sequence after the log and the store, and fills the deduplication index
   * with what was received within the window. Until it resolves, `ready` is false and the
   * Tracking API asks clients to retry.
   */
  async start(history: {
    storedMaxSeq: number;
    suppressions: Suppression[];
    remember: (
      onId: (workspaceId: string, messageId: string, fingerprint: string) => void,
    ) => Promise<number>;
  }): Promise<{ seq: number; remembered: number }> {
    this.seq = Math.max(this.seq, this.log.head, history.storedMaxSeq);
    this.suppress(history.suppressions);
    const remembered = await history.remember((ws, id, fp) => this.dedup.remember(ws, id, fp));
    this.ready = true;
    this.started();
    return { seq: this.seq, remembered };
  }

  /** False while the deduplication index is still loading (start-up). */
  get accepting(): boolean {
    return this.ready;
  }

  /** The newest seq handed out: a read that must see a request's writes waits for this. */
  get lastSeq(): number {
    return this.seq;
  }

  get pendingRows(): number {
    return this.pending;
  }

  get rememberedIds(): number {
    return this.dedup.size;
  }

  get dedupBytes(): number {
    return this.dedup.bytes;
  }

  get overloaded(): boolean {
    return this.pending > this.options.maxPendingRows;
  }

  async ingest(req: IngestRequest): Promise<IngestOutcome> {
    // The edges answer 503 while starting; anything else that gets here waits for the start.
    if (!this.ready) await this.whenStarted;
    const receivedAt = this.clock.now();
    const records: LogRecord[] = [];
    const failures: MessageFailure[] = [];
    const newIds: string[] = [];
    const originals: Promise<void>[] = [];
    let accepted = 0;
    let duplicates = 0;
    let suppressed = 0;

    const reject = (index: number, raw: unknown, code: ErrorCode, message: string, field?: string) => {
      failures.push(field === undefined ? { index, code, message } : { index, code, message, field });
      records.push({
        kind: 'quarantine',
        seq: ++this.seq,
        row: {
          workspaceId: req.workspaceId,
          receivedAt,
          requestId: req.requestId,
          batchIndex: req.pathType ? null : index,
          messageId: messageIdOf(raw),
          code,
          reason: message,
          field: field ?? null,
          payload: req.pathType ? req.rawBody : serialise(raw),
        },
      });
    };

    for (let index = 0; index < req.messages.length; index++) {
      const raw = req.messages[index];
      const valid = validateMessage(raw, req.pathType);
      if (!valid.ok) {
        reject(index, raw, valid.error.code, valid.error.message, valid.error.field);
        continue;
      }
      const normalized = normalizeMessage(valid.value, {
        workspaceId: req.workspaceId,
        receivedAt,
        seq: this.seq + 1,
        ip: req.ip,
        newMessageId: this.newId,
        ...(req.envelope ? { envelope: req.envelope } : {}),
      });
      if (!normalized.ok) {
        reject(index, raw, normalized.error.code, normalized.error.message, normalized.error.field);
        continue;
      }
      const event = normalized.value;
      if (!this.admits(event)) {
        suppressed++;
        continue;
      }
      if (valid.value.messageId !== undefined) {
        const { verdict, original } = this.dedupe(event);
        if (verdict === 'duplicate') {
          duplicates++;
          if (original) originals.push(original);
          continue;
        }
        if (verdict === 'conflict') {
          reject(
            index,
            raw,
            'conflicting_duplicate',
            `messageId ${JSON.stringify(event.messageId)} was already received with a different payload`,
            'messageId',
          );
          continue;
        }
        newIds.push(event.messageId);
      }
      this.seq++;
      records.push({ kind: 'event', seq: event.seq, event });
      accepted++;
    }

    this.observer.received(req.messages.length);
    const appended = this.appendRecords(req.workspaceId, records, newIds);
    // A duplicate is acknowledged only once its original is durable: if that write fails, the
    // retry fails with it, and the next retry is taken as new (its id was forgotten).
    await Promise.all([appended, ...originals]);
    this.observer.accepted(accepted);
    if (duplicates > 0) this.observer.deduplicated(duplicates);
    if (suppressed > 0) this.observer.suppressed(suppressed);
    for (const f of failures) {
      if (f.code === 'conflicting_duplicate') this.observer.conflicting(1);
      this.observer.rejected(f.code, 1);
    }
    return { accepted, duplicates, suppressed, failures };
  }

  /** False for an event carrying a suppressed identifier (a deleted person's): it is dropped. */
  admits(event: StoredEvent): boolean {
    return this.suppressed.admits(event, this.rulesOf(event.workspaceId));
  }

  /** Drops messages with these identifiers from now on (a person deleted with suppression). */
  suppress(list: Suppression[]): void {
    for (const s of list) this.suppressed.add(s);
  }

  /** The next seq of the log (every record, event or quarantine, takes one). */
  nextSeq(): number {
    return ++this.seq;
  }

  /**
   * Checks an event's messageId against the window (remembering it when new). A duplicate
   * comes with its original's pending write, if that is not durable yet, to wait for.
   */
  dedupe(event: StoredEvent): { verdict: DedupVerdict; original?: Promise<void> } {
    const verdict = this.dedup.check(event.workspaceId, event.messageId, event.fingerprint, this.clock.now());
    if (verdict !== 'duplicate') return { verdict };
    const original = this.inFlight.get(inFlightKey(event.workspaceId, event.messageId));
    return original ? { verdict, original } : { verdict };
  }

  /**
   * Marks ids that `dedupe` took as new but that are not appended yet (an import's chunk being
   * built): a retry of one meanwhile waits for `until`, the chunk's append.
   */
  hold(workspaceId: string, messageId: string, until: Promise<void>): void {
    this.inFlight.set(inFlightKey(workspaceId, messageId), until);
  }

  /** Undoes `dedupe` for ids that will never be appended (an import that stopped): retries are new. */
  release(workspaceId: string, messageIds: string[]): void {
    for (const id of messageIds) {
      this.dedup.forget(workspaceId, id);
      this.inFlight.delete(inFlightKey(workspaceId, id));
    }
  }

  /**
   * Appends records to the log; resolves once they are durable. `newIds` are the messageIds
   * first seen in them: until durable, their retries wait; on failure they are forgotten.
   */
  appendRecords(workspaceId: string, records: LogRecord[], newIds: string[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const started = this.clock.now();
    this.pending += records.length;
    const appended = this.log.append(records);
    const keys = newIds.map((id) => inFlightKey(workspaceId, id));
    for (const k of keys) this.inFlight.set(k, appended);
    const settle = () => {
      this.pending -= records.length;
      for (const k of keys) if (this.inFlight.get(k) === appended) this.inFlight.delete(k);
    };
    return appended.then(
      () => {
        settle();
        this.observer.committed(records.length, (this.clock.now() - started) / 1000);
      },
      (e: unknown) => {
        settle();
        // Nothing of this request is durable: let the client's retry through deduplication.
        for (const id of newIds) this.dedup.forget(workspaceId, id);
        throw e;
      },
    );
  }

  /**
   * Makes sure every id the store holds for this workspace is remembered, whatever its arrival
   * time: a re-run import of old data (arrival times long past the window) stores nothing twice.
   * Loaded at most once per window and workspace.
   */
  async rememberAll(
    workspaceId: string,
    load: (onId: (workspaceId: string, messageId: string, fingerprint: string) => void) => Promise<number>,
  ): Promise<void> {
    const at = this.allRemembered.get(workspaceId);
    if (at !== undefined && this.clock.now() - at < this.options.dedupWindowMs) return;
    await load((ws, id, fp) => this.dedup.remember(ws, id, fp));
    this.allRemembered.set(workspaceId, this.clock.now());
  }

  /** Keeps a whole rejected request (unparseable body, bad envelope) in quarantine. */
  async quarantineRequest(r: RequestRejection): Promise<void> {
    await this.whenStarted;
    const row: QuarantinedMessage = {
      workspaceId: r.workspaceId,
      receivedAt: this.clock.now(),
      requestId: r.requestId,
      batchIndex: null,
      messageId: null,
      code: r.code,
      reason: r.reason,
      field: null,
      payload: r.payload,
    };
    await this.appendRecords(r.workspaceId, [{ kind: 'quarantine', seq: ++this.seq, row }], []);
    this.observer.rejected(r.code, 1);
  }
}

const inFlightKey = (workspaceId: string, messageId: string) => `${workspaceId}\u0001${messageId}`;

/**
 * What the collector must remember at start: the ids received within the window that the store
 * holds, and those still only in the log (logged, not yet loaded).
 */
export function receivedHistory(
  store: Pick<EventStore, 'loadFingerprints'>,
  log: Pick<EventLog, 'readIds'>,
  loadedSeq: number,
  sinceMs: number,
): (onId: (workspaceId: string, messageId: string, fingerprint: string) => void) => Promise<number> {
  return async (onId) => {
    let n = await store.loadFingerprints(sinceMs, onId);
    await log.readIds(loadedSeq, (ws, id, fp) => {
      onId(ws, id, fp);
      n++;
    });
    return n;
  };
}

/**
 * A batch item as JSON text for its quarantine row. JSON.stringify recurses, and hostile nesting
 * (a few thousand levels) overflows the stack; such an item is written with an explicit stack
 * instead, so its row holds the item itself whatever its depth, not the whole request again.
 */
function serialise(raw: unknown): string {
  try {
    return JSON.stringify(raw) ?? String(raw);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return stringifyDeep(raw);
  }
}

/** JSON.stringify for parsed JSON (no undefined, functions or cycles), without recursion. */
function stringifyDeep(root: unknown): string {
  const out: string[] = [];
  // Values still to write, and literal text (separators, keys, closing brackets) between them.
  const todo: Array<{ value: unknown } | string> = [{ value: root }];
  while (todo.length > 0) {
    const next = todo.pop()!;
    if (typeof next === 'string') {
      out.push(next);
      continue;
    }
    const v = next.value;
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v) ?? 'null');
    } else if (Array.isArray(v)) {
      out.push('[');
      todo.push(']');
      for (let i = v.length - 1; i >= 0; i--) {
        todo.push({ value: v[i] });
        if (i > 0) todo.push(',');
      }
    } else {
      const keys = Object.keys(v);
      out.push('{');
      todo.push('}');
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        todo.push({ value: (v as Record<string, unknown>)[key] });
        todo.push(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`);
      }
    }
  }
  return out.join('');
}
