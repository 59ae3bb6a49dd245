import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { type CompiledMapping, mapRow } from '../core/sources/source-mapping.js';
import type { ImportRow } from '../services/import-service.js';
import { readLines } from './read-lines.js';

const BATCH = 2_000;

/**
 * An offline source export (CSV with a header row, or JSON Lines) as import rows: each record
 * mapped to Segment messages, or to the reason it cannot be, with its line number.
 */
export async function* sourceRows(
  path: string,
  mapping: CompiledMapping,
  onBytes: (bytes: number) => void,
): AsyncGenerator<ImportRow[]> {
  const toRow = (line: number, raw: string, record: Record<string, unknown>): ImportRow => {
    const mapped = mapRow(record, mapping);
    return mapped.ok
      ? { line, raw, messages: mapped.value.map((m) => JSON.stringify(m)) }
      : { line, raw, error: mapped.error };
  };
  const name = path.replace(/\.gz$/, '');
  if (name.endsWith('.csv')) {
    yield* csvRows(path, onBytes, toRow);
    return;
  }
  let n = 0;
  for await (const lines of readLines(path, onBytes)) {
    const rows: ImportRow[] = [];
    for (const text of lines) {
      n++;
      if (text.trim() === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch (e) {
        rows.push({
          line: n,
          raw: text,
          error: { field: null, message: `not JSON: ${(e as Error).message}` },
        });
        continue;
      }
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        rows.push({ line: n, raw: text, error: { field: null, message: 'a line must be a JSON object' } });
        continue;
      }
      rows.push(toRow(n, text, record as Record<string, unknown>));
    }
    yield rows;
  }
}

async function* csvRows(
  path: string,
  onBytes: (bytes: number) => void,
  toRow: (line: number, raw: string, record: Record<string, unknown>) => ImportRow,
): AsyncGenerator<ImportRow[]> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  let read = 0;
  file.on('data', (chunk) => {
    read += chunk.length;
    onBytes(read);
  });
  const text: Readable = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  // Short rows are reported, not fatal: relax_column_count, then the mapping names what is missing.
  // A malformed record (an unclosed quote…) is skipped by the parser and reported as a bad row.
  const parser = text.pipe(
    parse({
      columns: true,
      info: true,
      bom: true,
      relax_column_count: true,
      trim: true,
      skip_records_with_error: true,
    }),
  );
  let rows: ImportRow[] = [];
  parser.on('skip', (e: Error & { lines?: number; raw?: string }) => {
    const line = e.lines ?? 0;
    rows.push({ line, raw: e.raw ?? '', error: { field: null, message: `unreadable CSV: ${e.message}` } });
  });
  let lastLine = 1;
  for await (const item of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    const line = lastLine + 1;
    lastLine = item.info.lines;
    rows.push(toRow(line, Object.values(item.record).join(','), item.record));
    if (rows.length >= BATCH) {
      yield rows;
      rows = [];
    }
  }
  if (rows.length > 0) yield rows;
}
