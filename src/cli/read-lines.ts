import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { linesOf } from '../core/lines.js';

/**
 * Reads a text file (gzip when the name ends in .gz) as arrays of lines, one array per chunk
 * read, so callers loop over big batches instead of awaiting every line.
 * `onBytes` reports progress in bytes of the file on disk.
 */
export async function* readLines(path: string, onBytes?: (bytes: number) => void): AsyncGenerator<string[]> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  let read = 0;
  file.on('data', (chunk) => {
    read += chunk.length;
    onBytes?.(read);
  });
  const text: Readable = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  text.setEncoding('utf8');
  yield* linesOf(text as AsyncIterable<string>);
}
