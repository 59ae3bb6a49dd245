import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Seconds DuckDB alone takes to parse an NDJSON message file into a table with read_json (no
 * validation, normalisation or dedup): the most a bulk load could do on this machine.
 */
export async function duckdbOnly(file) {
  const dir = mkdtempSync(join(tmpdir(), 'throughline-import-base-'));
  try {
    const db = await DuckDBInstance.create(join(dir, 'base.duckdb'));
    const c = await db.connect();
    const t0 = performance.now();
    await c.run(
      `CREATE TABLE raw AS SELECT * FROM read_json($f, format = 'newline_delimited', maximum_object_size = 1048576,
        columns = {type: 'VARCHAR', messageId: 'VARCHAR', anonymousId: 'VARCHAR', userId: 'VARCHAR', event: 'VARCHAR',
        name: 'VARCHAR', properties: 'JSON', traits: 'JSON', context: 'JSON', timestamp: 'VARCHAR', sentAt: 'VARCHAR',
        receivedAt: 'VARCHAR'})`,
      { f: file },
    );
    const seconds = (performance.now() - t0) / 1000;
    c.closeSync();
    db.closeSync();
    return seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
