import type { ErrorCode } from '../core/error-codes.js';
import { DedupWindow } from '../core/spec/dedup-window.js';
import type { MessageType, QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import { type BatchEnvelope, normalizeMessage } from '../core/spec/normalize-message.js';
import { messageIdOf, validateMessage } from '../core/spec/validate-message.js';
import { GroupCommit } from './group-commit.js';
import type { Clock, EventStore } from './ports.js';

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

export interface IngestOptions {
  dedupWindowMs: number;
  maxRowsPerCommit: number;
  minCommitIntervalMs: number;
  /** Above this many rows waiting for a commit, new requests are turned away with `overloaded`. */
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
  /** The request body text, kept in quarantine when a message cannot be re-serialised. */
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
 * The collector's use case: validate → normalise → deduplicate → group commit.
 * Resolves only after every accepted and quarantined row of the request is durable.
 */
export class IngestService {
  private dedup: DedupWindow;
  private seq = 0;
  private readonly commits: GroupCommit;
  private readonly listeners = new Set<(events: StoredEvent[]) => void>();
  /** Decides whether a valid event may be stored; set by the identity pipeline for suppressions. */
  admit: (event: StoredEvent) => boolean = () => true;

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    private readonly newId: () => string,
    private readonly observer: IngestObserver,
    private readonly options: IngestOptions,
  ) {
    this.dedup = new DedupWindow(options.dedupWindowMs, clock.now());
    this.commits = new GroupCommit(store, clock, options, (events, info) => {
      observer.committed(info.rows, info.seconds);
      if (events.length > 0) for (const l of this.listeners) l(events);
    });
  }

  /** Restores the sequence and the deduplication window from what is already stored. */
  async start(): Promise<{ seq: number; remembered: number }> {
    this.seq = await this.store.maxSeq();
    const since = this.clock.now() - this.options.dedupWindowMs;
    const remembered = await this.store.loadFingerprints(since, (ws, id, fp) =>
      this.dedup.remember(DedupWindow.key(ws, id), fp),
    );
    return { seq: this.seq, remembered };
  }

  /** Called with each committed group of events, in commit order. */
  onCommitted(listener: (events: StoredEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get pendingRows(): number {
    return this.commits.pendingRows;
  }

  get rememberedIds(): number {
    return this.dedup.size;
  }

  get overloaded(): boolean {
    return this.commits.pendingRows > this.options.maxPendingRows;
  }

  async ingest(req: IngestRequest): Promise<IngestOutcome> {
    const receivedAt = this.clock.now();
    const events: StoredEvent[] = [];
    const quarantine: QuarantinedMessage[] = [];
    const failures: MessageFailure[] = [];
    const newKeys: string[] = [];
    let duplicates = 0;
    let suppressed = 0;

    const reject = (index: number, raw: unknown, code: ErrorCode, message: string, field?: string) => {
      failures.push(field === undefined ? { index, code, message } : { index, code, message, field });
      quarantine.push({
        workspaceId: req.workspaceId,
        receivedAt,
        requestId: req.requestId,
        batchIndex: req.pathType ? null : index,
        messageId: messageIdOf(raw),
        code,
        reason: message,
        field: field ?? null,
        payload: req.pathType ? req.rawBody : serialise(raw, req.rawBody),
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
      if (!this.admit(event)) {
        suppressed++;
        continue;
      }
      if (valid.value.messageId !== undefined) {
        const key = DedupWindow.key(req.workspaceId, event.messageId);
        const verdict = this.dedup.check(key, event.fingerprint, receivedAt);
        if (verdict === 'duplicate') {
          duplicates++;
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
        newKeys.push(key);
      }
      this.seq++;
      events.push(event);
    }

    this.observer.received(req.messages.length);
    try {
      await this.commits.submit(events, quarantine);
    } catch (e) {
      // Nothing of this request was stored: let the client's retry through deduplication.
      for (const key of newKeys) this.dedup.forget(key);
      throw e;
    }
    this.observer.accepted(events.length);
    if (duplicates > 0) this.observer.deduplicated(duplicates);
    if (suppressed > 0) this.observer.suppressed(suppressed);
    for (const f of failures) {
      if (f.code === 'conflicting_duplicate') this.observer.conflicting(1);
      this.observer.rejected(f.code, 1);
    }
    return { accepted: events.length, duplicates, suppressed, failures };
  }

  /** Keeps a whole rejected request (unparseable body, bad envelope) in quarantine. */
  async quarantineRequest(r: RequestRejection): Promise<void> {
    await this.commits.submit(
      [],
      [
        {
          workspaceId: r.workspaceId,
          receivedAt: this.clock.now(),
          requestId: r.requestId,
          batchIndex: null,
          messageId: null,
          code: r.code,
          reason: r.reason,
          field: null,
          payload: r.payload,
        },
      ],
    );
    this.observer.rejected(r.code, 1);
  }

  /** Commits everything still queued (shutdown). */
  drain(): Promise<void> {
    return this.commits.drain();
  }
}

/** Hostile nesting can defeat JSON.stringify; then the request body itself is kept. */
function serialise(raw: unknown, rawBody: string): string {
  try {
    return JSON.stringify(raw) ?? String(raw);
  } catch {
    return rawBody;
  }
}
