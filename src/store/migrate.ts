import { readdirSync, readFileSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

/** Applies the ordered `NNN_name.sql` files not yet recorded, each in its own transaction. */
export async function migrate(conn: DuckDBConnection): Promise<string[]> {
  await conn.run(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT now())',
  );
  const applied = new Set(
    (await conn.runAndReadAll('SELECT version FROM schema_migrations')).getRowsJS().map((r) => Number(r[0])),
  );
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort();
  const ran: string[] = [];
  for (const file of files) {
    const version = Number.parseInt(file, 10);
    if (applied.has(version)) continue;
    const sql = readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8');
    await conn.run('BEGIN');
    try {
      await conn.run(sql);
      await conn.run('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, file]);
      await conn.run('COMMIT');
    } catch (e) {
      await conn.run('ROLLBACK');
      throw new Error(`migration ${file} failed: ${(e as Error).message}`);
    }
    ran.push(file);
  }
  return ran;
}
