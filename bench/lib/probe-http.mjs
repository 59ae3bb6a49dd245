// HTTP clients for the probe: node:http (not fetch) so a request can carry any bytes, any headers
// or none, a chosen source address, and so a body the server refuses half-way still yields the
// answer it sent; and a raw socket for what no HTTP client would send.
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/** Keep-alive connections shared by a run's workers, as an SDK's would be. */
export const keepAliveAgent = (maxSockets) => new Agent({ keepAlive: true, maxSockets });

/**
 * One request. Resolves { status, headers, text, ms } or { error, ms } (no answer: reset,
 * refused, timed out). A body written in `chunks` goes out chunked, without Content-Length.
 */
export function send(base, spec, { agent, timeoutMs = 60_000, localAddress } = {}) {
  const url = new URL(spec.path, base);
  const headers = { ...(spec.headers ?? {}) };
  if (spec.body !== undefined && !spec.chunks && headers['content-length'] === undefined) {
    headers['content-length'] = String(spec.body.length);
  }
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      resolve({ ...r, ms: performance.now() - t0 });
    };
    let req;
    try {
      req = httpRequest(url, {
        method: spec.method ?? 'POST',
        headers,
        agent: agent ?? false,
        localAddress,
        timeout: timeoutMs,
      });
    } catch (e) {
      finish({ error: `client refused to send: ${e.code ?? e.message}` });
      return;
    }
    req.on('response', (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () =>
        finish({ status: res.statusCode, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }),
      );
      res.on('error', (e) => finish({ error: e.code ?? e.message }));
    });
    // An error after the answer (the server closed while we were still writing) changes nothing.
    req.on('error', (e) => finish({ error: e.code ?? e.message }));
    req.on('timeout', () => {
      req.destroy(new Error('timeout'));
    });
    if (spec.chunks) {
      for (const c of spec.chunks) req.write(c);
      req.end();
    } else {
      req.end(spec.body);
    }
  });
}

/**
 * The final status codes of a raw exchange (latin1 text), one per request: pipelined answers
 * follow each other without a line break, so each is skipped by its Content-Length; interim
 * answers (`100 Continue`) are not answers to a request.
 */
export function statusesOf(text) {
  const out = [];
  const line = /HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/y;
  let i = 0;
  for (;;) {
    line.lastIndex = i;
    const m = line.exec(text);
    if (!m) return out;
    const status = Number(m[1]);
    if (status >= 200) out.push(status);
    const end = text.indexOf('\r\n\r\n', i);
    if (end < 0) return out;
    const head = text.slice(i, end);
    // A chunked answer is not measured: nothing after it is read.
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) return out;
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    i = end + 4 + (status >= 200 && length ? Number(length[1]) : 0);
  }
}

/**
 * Writes raw bytes and collects what comes back until the server closes (or `timeoutMs`).
 */
export function sendRaw(port, bytes, { timeoutMs = 15_000, localAddress } = {}) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const parts = [];
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let error = null;
    const timer = setTimeout(() => {
      error = 'timeout';
      socket.destroy();
    }, timeoutMs);
    // No half-close: Node's server aborts a request whose client ended its side; the last request
    // of every raw case says `Connection: close`, so the server's close ends the exchange.
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c) => parts.push(c));
    socket.on('error', (e) => {
      error ??= e.code ?? e.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(parts).toString('latin1');
      resolve({ text, statuses: statusesOf(text), error, ms: performance.now() - t0 });
    });
  });
}
