import type { DuckDBConnection } from '@duckdb/node-api';
import type { JourneySettings } from '../core/journey/journey-settings.js';
import { journeySql } from '../core/journey/journey-sql.js';
import type { JourneySubject } from '../core/journey/journey-subjects.js';

/**
 * The journey tables (migration 007) filled from SQL (core/journey/journey-sql.ts): the
 * workspace's rows, or only those of the persons given (a late event or a merge touched them),
 * are deleted and computed again. No transaction is opened here: a caller that wants the delete
 * and the inserts to commit together wraps the call in one (the temporary tables are
 * per-connection and dropped at the end either way).
 */

export interface JourneyTableCounts {
  persons: number;
  /** Steps written (a person's events without bot traffic; an event of two persons counts twice). */
  events: number;
  sessions: number;
  touchpoints: number;
}

export interface RebuildOptions {
  /** Keys (person_map's, or account keys) to rebuild; default: the whole workspace. */
  persons?: readonly number[];
  /** Persons (default) or accounts (migration 009's tables). */
  subject?: JourneySubject;
}

export async function rebuildJourneyTables(
  conn: DuckDBConnection,
  workspaceId: string,
  settings: JourneySettings,
  options: RebuildOptions = {},
): Promise<JourneyTableCounts> {
  if (options.persons?.length === 0) return { persons: 0, events: 0, sessions: 0, touchpoints: 0 };
  const sql = journeySql(settings, {
    workspaceId,
    ...(options.persons ? { persons: options.persons } : {}),
    ...(options.subject ? { subject: options.subject } : {}),
  });
  try {
    for (const statement of sql.compute) await conn.run(statement);
    for (const statement of sql.remove) await conn.run(statement);
    for (const statement of sql.insert) await conn.run(statement);
    const [persons, events, sessions, touchpoints] = (
      await conn.runAndReadAll(sql.counts)
    ).getRowsJS()[0] as [number, number, number, number];
    return { persons, events, sessions, touchpoints };
  } finally {
    for (const statement of sql.cleanup) await conn.run(statement).catch(() => undefined);
  }
}
