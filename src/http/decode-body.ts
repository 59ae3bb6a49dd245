import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import type { ErrorCode } from '../core/error-codes.js';
import { err, ok, type Result } from '../core/result.js';

const DECODERS = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
} as const;

export interface BodyError {
  code: ErrorCode;
  message: string;
}

/**
 * Decompresses (off the event loop, in libuv's pool) and parses a tracking request body.
 * The decompressed size is capped too, so a small zip bomb cannot get past the limit.
 */
export async function decodeBody(
  raw: Buffer,
  encoding: string | undefined,
  maxBytes: number,
): Promise<Result<{ text: string; json: unknown }, BodyError>> {
  let bytes = raw;
  const enc = encoding?.trim().toLowerCase();
  if (enc && enc !== 'identity') {
    const decode = DECODERS[enc as keyof typeof DECODERS];
    if (!decode) {
      return err({
        code: 'unsupported_encoding',
        message: `Content-Encoding "${enc}" is not supported; use gzip, deflate, br or none`,
      });
    }
    try {
      bytes = await decode(raw, { maxOutputLength: maxBytes });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') {
        return err({
          code: 'request_too_large',
          message: `decompressed body is larger than the ${maxBytes / 1024} KB allowed`,
        });
      }
      return err({
        code: 'invalid_encoding',
        message: `body is not valid ${enc} data: ${(e as Error).message}`,
      });
    }
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') return err({ code: 'invalid_body', message: 'request body is empty' });
  try {
    return ok({ text, json: JSON.parse(text) });
  } catch (e) {
    return err({ code: 'invalid_json', message: `body is not valid JSON: ${(e as Error).message}` });
  }
}
