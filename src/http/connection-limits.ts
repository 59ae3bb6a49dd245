import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { BlockList, isIPv6, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import type { ErrorCode } from '../core/error-codes.js';
import { errorBody } from './errors.js';

/**
 * How long a client may take, and how many connections one address may hold: a collector faces
 * the whole internet, and a slow or greedy client must not hold sockets that others need.
 */
export interface ConnectionLimits {
  /** The request line and headers must arrive within this many ms (then `408`). */
  headersTimeoutMs: number;
  /** Tracking API and webhook requests (small bodies) must arrive whole within this (then `408`). */
  requestTimeoutMs: number;
  /** A connection on which nothing moves for this long is closed (a stalled body, an idle socket). */
  idleTimeoutMs: number;
  /** Open connections one client address may hold; more are refused with `429`. 0: no limit. */
  maxConnectionsPerAddress: number;
  /** Addresses the cap does not apply to: trusted proxies carry many clients on their connections. */
  exempt: (address: string) => boolean;
}

/** The limits a configuration sets; trusted proxies (`THROUGHLINE_TRUST_PROXY`) are exempt from the cap. */
export function connectionLimits(config: Config): ConnectionLimits {
  return {
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    exempt: proxies(config.trustProxy),
  };
}

function proxies(trust: boolean | string[]): (address: string) => boolean {
  if (trust === true) return () => true;
  if (trust === false) return () => false;
  const list = new BlockList();
  for (const entry of trust) {
    const [ip = '', bits] = entry.split('/');
    const type = isIPv6(ip) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return (address) => {
    const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
    return list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
  };
}

/** Routes whose bodies are small, so a whole-request deadline suits them (imports stream for long). */
const DEADLINED = /^\/(v1|webhooks)\//;

/** How long an idle keep-alive connection stays open between requests. */
const KEEP_ALIVE_MS = 72_000;

/** Node checks header and request deadlines on this period: it bounds how late a `408` comes. */
const CHECK_EVERY_MS = 1_000;

/**
 * A `serverFactory` for Fastify: Node's server with the header deadline checked every second
 * (Node's default period is 30 s) and the per-address connection cap.
 */
export function limitedServer(limits: ConnectionLimits) {
  return (handler: RequestListener): Server => {
    const server = createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        // Whole-request deadlines are per route (below): Node's own would also cut long imports.
        requestTimeout: 0,
        connectionsCheckingInterval: CHECK_EVERY_MS,
      },
      handler,
    );
    server.setTimeout(limits.idleTimeoutMs);
    // Fastify's default, which clients have been told (`Keep-Alive: timeout=72`): Node's own 5 s
    // closes idle keep-alive sockets under clients that are about to reuse them.
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    if (limits.maxConnectionsPerAddress > 0) capConnections(server, limits);
    return server;
  };
}

function capConnections(server: Server, limits: ConnectionLimits): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    if (limits.exempt(address)) return;
    const n = open.get(address) ?? 0;
    if (n >= limits.maxConnectionsPerAddress) {
      refuse(
        socket,
        429,
        'too_many_connections',
        `this address already holds ${n} connections; at most ${limits.maxConnectionsPerAddress} are allowed — reuse keep-alive connections`,
      );
      return;
    }
    open.set(address, n + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/** Answers on a raw socket (before or instead of Fastify) and closes it. */
function refuse(socket: Socket, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify(errorBody(code, message));
  const reason = status === 429 ? 'Too Many Requests' : 'Request Timeout';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.destroySoon();
}

/**
 * Gives Tracking API and webhook requests a whole-request deadline: a client that sends its body
 * slower than that (a slowloris trickle) gets `408` and the connection is closed.
 */
export function installRequestDeadline(app: FastifyInstance, limits: ConnectionLimits): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!DEADLINED.test(request.url)) return;
    const raw: IncomingMessage = request.raw;
    if (raw.complete) return;
    const timer = setTimeout(() => {
      if (raw.complete || reply.raw.headersSent) return;
      refuse(
        raw.socket,
        408,
        'request_timeout',
        `the request did not arrive whole within ${limits.requestTimeoutMs} ms`,
      );
    }, limits.requestTimeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    raw.once('end', clear);
    raw.once('close', clear);
    reply.raw.once('finish', clear);
  });
}
