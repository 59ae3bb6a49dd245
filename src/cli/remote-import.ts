import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ImportStats } from '../services/import-service.js';
import { type ApiTarget, answerOf } from './api-client.js';

/**
 * Streams an NDJSON file (gzip as it is, when named .gz) to a running server's
 * POST /api/import: the same validation, deduplication and log as a local import, and the
 * same report. `onBytes` counts bytes of the file sent.
 */
export async function importThroughApi(
  target: ApiTarget,
  path: string,
  onBytes: (bytes: number) => void,
): Promise<ImportStats & { importId: string }> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  let sent = 0;
  file.on('data', (chunk) => {
    sent += chunk.length;
    onBytes(sent);
  });
  let res: Response;
  try {
    res = await fetch(new URL('/api/import', target.url), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${target.adminKey}`,
        'content-type': 'application/x-ndjson',
        ...(path.endsWith('.gz') ? { 'content-encoding': 'gzip' } : {}),
      },
      body: Readable.toWeb(file) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit);
  } catch (e) {
    throw new Error(`cannot reach ${target.url}: ${(e as Error).message}`);
  }
  return answerOf<ImportStats & { importId: string }>(res, 'POST', '/api/import');
}
