import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, post } from '../support/http.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../support/servers.js';

// Deadlines short enough for a test; the defaults (10 s headers, 30 s body, 30 s idle) are in
// docs/configuration.md. Node checks header deadlines every second, so answers may come ≈ 1 s late.
const ENV = {
  THROUGHLINE_HEADERS_TIMEOUT_MS: '1000',
  THROUGHLINE_REQUEST_TIMEOUT_MS: '1500',
  THROUGHLINE_IDLE_TIMEOUT_MS: '2000',
  THROUGHLINE_MAX_CONNECTIONS_PER_ADDRESS: '4',
  THROUGHLINE_METRICS_TOKEN: 'metrics-token-0123456789',
};

/** What a raw socket received until the server closed it, or `open` if it is still open after `ms`. */
function until(socket: Socket, ms: number): Promise<{ closed: boolean; text: string; after: number }> {
  const started = performance.now();
  let text = '';
  socket.on('data', (c) => {
    text += c.toString();
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ closed: false, text, after: performance.now() - started }), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, text, after: performance.now() - started });
    });
  });
}

async function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  return socket;
}

describe('connection limits: deadlines, per-address cap, /metrics token', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(undefined, ENV);
  });
  afterAll(async () => {
    await s.close();
  });

  it('answers 408 to headers that never finish', async () => {
    const socket = await open(s.url);
    socket.write('POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
    const r = await until(socket, 8_000);
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 408/);
  });

  it('answers 408 request_timeout to a Tracking API body that stalls, and closes the connection', async () => {
    const socket = await open(s.url);
    socket.write(
      `POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: ${basic()}\r\nContent-Length: 200\r\n\r\n{"type":"track",`,
    );
    const r = await until(socket, 8_000);
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 408/);
    expect(r.text).toContain('"code":"request_timeout"');
  });

  it('cuts off a slow trickle at the request deadline, though no gap reaches the idle timeout', async () => {
    const socket = await open(s.url);
    socket.write(
      `POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: ${basic()}\r\nContent-Length: 500\r\n\r\n`,
    );
    const drip = setInterval(() => socket.write(' '), 300);
    const r = await until(socket, 8_000);
    clearInterval(drip);
    expect(r.closed).toBe(true);
    expect(r.text).toContain('"code":"request_timeout"');
  });

  it('closes an admin request whose body stops moving (idle timeout)', async () => {
    const socket = await open(s.url);
    socket.write(
      // A real admin key: the import reads the body, which stops after one chunk.
      `POST /api/import HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n`,
    );
    const r = await until(socket, 8_000);
    expect(r.closed).toBe(true);
  });

  it('refuses connections beyond the per-address cap with 429, and admits again once one closes', async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => open(s.url)));
    const extra = await open(s.url);
    const r = await until(extra, 5_000);
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 429/);
    expect(r.text).toContain('"code":"too_many_connections"');
    const closed = held.map((h) => new Promise((res) => h.once('close', res)));
    for (const h of held) h.destroy();
    await Promise.all(closed);
    await new Promise((res) => setTimeout(res, 50));
    const ok = await post(s.url, '/v1/track', { type: 'track', userId: 'u1', event: 'After cap' });
    expect(ok.status).toBe(200);
  });

  it('answers /metrics only with the configured token', async () => {
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } }))
        .status,
    ).toBe(401);
    const res = await fetch(`${s.url}/metrics`, {
      headers: { authorization: `Bearer ${ENV.THROUGHLINE_METRICS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('throughline_messages_accepted_total');
  });
});

describe('/metrics without a token configured', () => {
  it('stays open, as documented', async () => {
    const s = await startTestServer();
    try {
      expect((await fetch(`${s.url}/metrics`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('keep-alive', () => {
  it("keeps idle keep-alive connections open as long as it tells clients (Fastify's 72 s)", async () => {
    const s = await startTestServer();
    try {
      const res = await fetch(`${s.url}/health`);
      await res.text();
      expect(res.headers.get('keep-alive')).toBe('timeout=72');
    } finally {
      await s.close();
    }
  });
});
