import type { DuckDBConnection } from '@duckdb/node-api';
import type { AnalyticsReader } from '../services/analytics-reader.js';

const plain = (v: unknown): unknown =>
  typeof v === 'bigint' ? Number(v) : Array.isArray(v) ? v.map(plain) : v;

/** Analytics statements on the reader connection. */
export class DuckDBAnalyticsReader implements AnalyticsReader {
  constructor(protected readonly reader: DuckDBConnection) {}

  async rows(sql: string, params: Record<string, string | number>): Promise<unknown[][]> {
    // DuckDB refuses a bound parameter the statement does not use.
    const used = Object.fromEntries(
      Object.entries(params).filter(([k]) => new RegExp(`\\$${k}\\b`).test(sql)),
    );
    const rows = (await this.reader.runAndReadAll(sql, used)).getRowsJS();
    return rows.map((r) => r.map(plain));
  }
}
