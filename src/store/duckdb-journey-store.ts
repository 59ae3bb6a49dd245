import type { DuckDBConnection } from '@duckdb/node-api';
import type { JourneyPaths, JourneyScanRow, JourneyStore } from '../services/journey-ports.js';

/** Journey settings and the bulk scan that journeys are derived from. */
export class DuckDBJourneyStore implements JourneyStore {
  constructor(
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  async loadSettings(): Promise<{ workspaceId: string; settings: unknown }[]> {
    const rows = (
      await this.reader.runAndReadAll('SELECT workspace_id, settings::VARCHAR FROM journey_settings')
    ).getRowsJS();
    return rows.map((r) => ({
      workspaceId: r[0] as string,
      settings: JSON.parse(r[1] as string) as unknown,
    }));
  }

  async saveSettings(workspaceId: string, settings: unknown, at: number): Promise<void> {
    await this.writer.run(
      'INSERT OR REPLACE INTO journey_settings VALUES ($1, $2::JSON, make_timestamp($3::BIGINT * 1000))',
      [workspaceId, JSON.stringify(settings), at],
    );
  }

  async scan(
    workspaceId: string,
    personOf: Int32Array,
    paths: JourneyPaths,
    onChunk: (rows: JourneyScanRow[]) => void | Promise<void>,
  ): Promise<void> {
    // The identity graph lives in memory: hand its identifier → person map to DuckDB for the join.
    await this.reader.run(
      'CREATE OR REPLACE TEMP TABLE journey_person_map (identifier_id INTEGER, person INTEGER)',
    );
    const appender = await this.reader.createAppender('journey_person_map', 'main', 'temp');
    for (let id = 0; id < personOf.length; id++) {
      const p = personOf[id] as number;
      if (p < 0) continue;
      appender.appendInteger(id);
      appender.appendInteger(p);
      appender.endRow();
    }
    appender.closeSync();
    const part = (column: string, keep: string[]) => {
      const keys = keep.map((k) => k.replace(/[^A-Za-z0-9_$.-]/g, '')).filter((k) => k !== '');
      if (keys.length === 0) return 'NULL';
      return `json_object(${keys.map((k) => `'${k}', json_extract(e.${column}, '${jsonPath(k)}')`).join(', ')})::VARCHAR`;
    };
    const sql = `
      SELECT m.person, e.seq::DOUBLE, e.message_id, e.type, coalesce(e.event, e.name), e.group_id,
        epoch_ms(e.timestamp)::DOUBLE, ${part('properties', paths.properties)}, ${part('traits', paths.traits)},
        ${part('context', paths.context)}
      FROM (SELECT DISTINCT m.person, ei.seq FROM event_identity ei JOIN journey_person_map m USING (identifier_id)
            WHERE ei.workspace_id = $1) m
      JOIN events e ON e.seq = m.seq
      ORDER BY m.person, e.timestamp, e.seq`;
    try {
      const result = await this.reader.stream(sql, [workspaceId]);
      for await (const chunk of result.yieldRowsJs()) {
        await onChunk(
          chunk.map((r) => ({
            person: r[0] as number,
            seq: r[1] as number,
            messageId: r[2] as string,
            type: r[3] as string,
            event: (r[4] as string | null) ?? null,
            groupId: (r[5] as string | null) ?? null,
            timestamp: r[6] as number,
            properties: (r[7] as string | null) ?? null,
            traits: (r[8] as string | null) ?? null,
            context: (r[9] as string | null) ?? null,
          })),
        );
      }
    } finally {
      await this.reader.run('DROP TABLE IF EXISTS journey_person_map');
    }
  }
}

/** `page.url` → `$."page"."url"`; the result is a flat object keyed by the dotted path. */
function jsonPath(dotted: string): string {
  return `$.${dotted
    .split('.')
    .map((k) => `"${k}"`)
    .join('.')}`;
}
