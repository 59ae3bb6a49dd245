import { z } from 'zod';
import { err, ok, type Result } from '../core/result.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const schema = z.object({
  port: z.coerce.number().int().min(0).max(65_535),
  host: z.string().min(1),
  dataDir: z.string().min(1),
  writeKey: z.string().min(8, 'must be at least 8 characters').optional(),
  adminKey: z.string().min(16, 'must be at least 16 characters').optional(),
  trustProxy: z.union([z.boolean(), z.array(z.string().min(1))]),
  logLevel: z.enum(LOG_LEVELS),
  dedupWindowDays: z.coerce.number().min(7, 'must be at least 7 days').max(90),
  maxPendingRows: z.coerce.number().int().min(1000),
  /** JSON file of journey settings (channel rules, stages, sessions): defaults and per workspace. */
  journeyConfig: z.string().min(1).optional(),
  /** `delete`: a log segment goes once every consumer has it; `keep`: segments stay (backups, replays). */
  logRetention: z.enum(['delete', 'keep']),
  /** Request line and headers must arrive within this many ms. */
  headersTimeoutMs: z.coerce.number().int().min(1000),
  /** Tracking API and webhook requests must arrive whole within this many ms. */
  requestTimeoutMs: z.coerce.number().int().min(1000),
  /** A connection on which nothing moves for this many ms is closed. */
  idleTimeoutMs: z.coerce.number().int().min(1000),
  /** Open connections one client address may hold (0: no limit); trusted proxies are exempt. */
  maxConnectionsPerAddress: z.coerce.number().int().min(0),
  /** When set, `/metrics` answers only `Authorization: Bearer <token>`. */
  metricsToken: z.string().min(16, 'must be at least 16 characters').optional(),
  checkpointThreshold: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)$/i, 'must be a size such as 16MB or 1GiB'),
});

export type Config = z.infer<typeof schema>;

/** Command-line flags that may override the environment. */
export interface ConfigFlags {
  port?: string | number;
  host?: string;
  data?: string;
  logLevel?: string;
  journeyConfig?: string;
}

export const DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  dataDir: './data',
  logLevel: 'info',
  dedupWindowDays: 7,
  maxPendingRows: 100_000,
  checkpointThreshold: '16MB',
  logRetention: 'delete',
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  maxConnectionsPerAddress: 256,
} as const;

/**
 * Parses the configuration once, at start: flags over `THROUGHLINE_*` environment variables
 * over defaults. Every problem is reported with the setting it came from.
 */
export function loadConfig(
  flags: ConfigFlags,
  env: Record<string, string | undefined>,
): Result<Config, string[]> {
  const pick = (flag: string | number | undefined, name: string) => flag ?? nonEmpty(env[name]);
  const input = {
    port: pick(flags.port, 'THROUGHLINE_PORT') ?? DEFAULTS.port,
    host: pick(flags.host, 'THROUGHLINE_HOST') ?? DEFAULTS.host,
    dataDir: pick(flags.data, 'THROUGHLINE_DATA_DIR') ?? DEFAULTS.dataDir,
    writeKey: nonEmpty(env.THROUGHLINE_WRITE_KEY),
    adminKey: nonEmpty(env.THROUGHLINE_ADMIN_KEY),
    trustProxy: parseTrustProxy(nonEmpty(env.THROUGHLINE_TRUST_PROXY)),
    logLevel: pick(flags.logLevel, 'THROUGHLINE_LOG_LEVEL') ?? DEFAULTS.logLevel,
    dedupWindowDays: nonEmpty(env.THROUGHLINE_DEDUP_WINDOW_DAYS) ?? DEFAULTS.dedupWindowDays,
    maxPendingRows: nonEmpty(env.THROUGHLINE_MAX_PENDING_ROWS) ?? DEFAULTS.maxPendingRows,
    checkpointThreshold: nonEmpty(env.THROUGHLINE_CHECKPOINT_THRESHOLD) ?? DEFAULTS.checkpointThreshold,
    logRetention: nonEmpty(env.THROUGHLINE_LOG_RETENTION) ?? DEFAULTS.logRetention,
    headersTimeoutMs: nonEmpty(env.THROUGHLINE_HEADERS_TIMEOUT_MS) ?? DEFAULTS.headersTimeoutMs,
    requestTimeoutMs: nonEmpty(env.THROUGHLINE_REQUEST_TIMEOUT_MS) ?? DEFAULTS.requestTimeoutMs,
    idleTimeoutMs: nonEmpty(env.THROUGHLINE_IDLE_TIMEOUT_MS) ?? DEFAULTS.idleTimeoutMs,
    maxConnectionsPerAddress:
      nonEmpty(env.THROUGHLINE_MAX_CONNECTIONS_PER_ADDRESS) ?? DEFAULTS.maxConnectionsPerAddress,
    metricsToken: nonEmpty(env.THROUGHLINE_METRICS_TOKEN),
    journeyConfig: pick(flags.journeyConfig, 'THROUGHLINE_JOURNEY_CONFIG'),
  };
  const parsed = schema.safeParse(input);
  if (parsed.success) return ok(parsed.data);
  return err(
    parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const value = (input as Record<string, unknown>)[key];
      const secret = key === 'writeKey' || key === 'adminKey' || key === 'metricsToken';
      const shown = secret ? '(hidden)' : JSON.stringify(value);
      return `${SOURCES[key] ?? key} = ${shown}: ${issue.message}`;
    }),
  );
}

const SOURCES: Record<string, string> = {
  port: '--port / THROUGHLINE_PORT',
  host: '--host / THROUGHLINE_HOST',
  dataDir: '--data / THROUGHLINE_DATA_DIR',
  writeKey: 'THROUGHLINE_WRITE_KEY',
  adminKey: 'THROUGHLINE_ADMIN_KEY',
  trustProxy: 'THROUGHLINE_TRUST_PROXY',
  logLevel: '--log-level / THROUGHLINE_LOG_LEVEL',
  dedupWindowDays: 'THROUGHLINE_DEDUP_WINDOW_DAYS',
  maxPendingRows: 'THROUGHLINE_MAX_PENDING_ROWS',
  checkpointThreshold: 'THROUGHLINE_CHECKPOINT_THRESHOLD',
  logRetention: 'THROUGHLINE_LOG_RETENTION',
  headersTimeoutMs: 'THROUGHLINE_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'THROUGHLINE_REQUEST_TIMEOUT_MS',
  idleTimeoutMs: 'THROUGHLINE_IDLE_TIMEOUT_MS',
  maxConnectionsPerAddress: 'THROUGHLINE_MAX_CONNECTIONS_PER_ADDRESS',
  metricsToken: 'THROUGHLINE_METRICS_TOKEN',
  journeyConfig: '--journey-config / THROUGHLINE_JOURNEY_CONFIG',
};

const nonEmpty = (v: string | undefined): string | undefined =>
  v === undefined || v.trim() === '' ? undefined : v;

/** "true"/"false", or a comma-separated list of proxy addresses/CIDRs. */
function parseTrustProxy(v: string | undefined): boolean | string[] {
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  return v.split(',').map((s) => s.trim());
}
