import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { IngestObserver } from '../services/ingest-service.js';

/** Prometheus metrics for the collector; exposed at GET /metrics. */
/** Gauges read at scrape time from the log pipeline. */
export interface PipelineGauges {
  pendingRows: number;
  dedupIds: number;
  dedupBytes: number;
  logBytes: number;
  loadLagRows: number;
  loadLagSeconds: number;
  corruptSegments: number;
  consumerLagRows: Record<string, number>;
  consumerFailures: Record<string, number>;
  /** Identifiers the identity graph marked untrusted for growing a region past its cap. */
  identityRegionTooLarge: number;
}

export function createMetrics(read: () => PipelineGauges) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'throughline_' });
  const c = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const received = c('throughline_messages_received_total', 'Messages received on the Tracking API');
  const accepted = c('throughline_messages_accepted_total', 'Messages stored durably');
  const rejected = c('throughline_messages_rejected_total', 'Messages or requests quarantined, by reason', [
    'code',
  ]);
  const deduplicated = c('throughline_messages_deduplicated_total', 'Exact repeats of a stored messageId');
  const suppressed = c(
    'throughline_messages_suppressed_total',
    'Messages dropped because they carry an identifier suppressed by a person deletion',
  );
  const conflicting = c(
    'throughline_messages_conflicting_duplicates_total',
    'Repeats of a stored messageId with a different payload (quarantined)',
  );
  const commitSeconds = new Histogram({
    name: 'throughline_commit_duration_seconds',
    help: 'Time for one group commit to become durable',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const commitRows = new Histogram({
    name: 'throughline_commit_rows',
    help: 'Rows per group commit',
    buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000],
    registers: [registry],
  });
  const gauge = (name: string, help: string, value: (g: PipelineGauges) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(read()));
      },
    });
  gauge(
    'throughline_commit_pending_rows',
    'Rows accepted and waiting for the log write',
    (g) => g.pendingRows,
  );
  gauge('throughline_dedup_window_ids', 'messageIds remembered for deduplication', (g) => g.dedupIds);
  gauge('throughline_dedup_window_bytes', 'Memory held by the deduplication index', (g) => g.dedupBytes);
  gauge('throughline_log_bytes', 'Bytes of ingest log segments on disk', (g) => g.logBytes);
  gauge(
    'throughline_load_lag_rows',
    'Log records durable but not yet loaded into DuckDB',
    (g) => g.loadLagRows,
  );
  gauge(
    'throughline_load_lag_seconds',
    'How long the oldest record not yet loaded into DuckDB has waited',
    (g) => g.loadLagSeconds,
  );
  gauge(
    'throughline_log_corrupt_segments',
    'Times loading stopped at a corrupt record in a log segment',
    (g) => g.corruptSegments,
  );
  for (const [name, help, pick] of [
    [
      'throughline_consumer_lag_rows',
      'Log records a consumer has not handled yet',
      (g: PipelineGauges) => g.consumerLagRows,
    ],
    [
      'throughline_consumer_failures',
      'Failures that stalled a consumer (it retries from the failed record)',
      (g: PipelineGauges) => g.consumerFailures,
    ],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['consumer'],
      registers: [registry],
      collect() {
        for (const [consumer, v] of Object.entries(pick(read()))) this.set({ consumer }, v);
      },
    });
  }

  new Counter({
    name: 'throughline_identity_untrusted_region_too_large_total',
    help: 'Identifiers marked untrusted because they linked a region past its size cap (one id shared by thousands)',
    registers: [registry],
    collect() {
      // Counted by the identity pipeline since start; read at scrape time like the gauges above.
      this.reset();
      this.inc(read().identityRegionTooLarge);
    },
  });

  const observer: IngestObserver = {
    received: (n) => received.inc(n),
    accepted: (n) => accepted.inc(n),
    rejected: (code, n) => rejected.inc({ code }, n),
    deduplicated: (n) => deduplicated.inc(n),
    suppressed: (n) => suppressed.inc(n),
    conflicting: (n) => conflicting.inc(n),
    committed: (rows, seconds) => {
      commitSeconds.observe(seconds);
      commitRows.observe(rows);
    },
  };
  return { registry, observer };
}

export type Metrics = ReturnType<typeof createMetrics>;
