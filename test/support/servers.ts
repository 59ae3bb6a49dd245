import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { openLocal, type RunningServer, startServer } from '../../src/main.js';

export const WRITE_KEY = 'wk_test_write_key_0001';
export const ADMIN_KEY = 'ak_test_admin_key_0000000000001';

export const BIN = new URL('../../bin/throughline.js', import.meta.url).pathname;

export function tempDir(prefix = 'throughline-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestServer {
  url: string;
  dataDir: string;
  server: RunningServer;
  close(): Promise<void>;
}

/** The real server in this process, on a random port and a fresh data directory. */
export async function startTestServer(
  dataDir = tempDir(),
  env: Record<string, string> = {},
): Promise<TestServer> {
  const config = loadConfig(
    { port: 0, host: '127.0.0.1', data: dataDir, logLevel: 'silent' },
    { THROUGHLINE_WRITE_KEY: WRITE_KEY, THROUGHLINE_ADMIN_KEY: ADMIN_KEY, ...env },
  );
  if (!config.ok) throw new Error(config.error.join('; '));
  const started = await startServer(config.value);
  if (!started.ok) throw new Error(started.error);
  const server = started.value;
  // The server listens at once; the collector accepts once its deduplication index is loaded.
  await server.recovered;
  return {
    url: server.url.replace('localhost', '127.0.0.1'),
    dataDir,
    server,
    close: async () => {
      await server.close();
    },
  };
}

/** A workspace besides the default one, for tests of tenant isolation. */
export interface ExtraWorkspace {
  id: string;
  write: string;
  admin: string;
}

/**
 * A data directory holding the default workspace (ADMIN_KEY, WRITE_KEY) and one more, created
 * on the database file before the test's server starts.
 */
export async function twoWorkspaces(name = 'second'): Promise<{ dir: string; other: ExtraWorkspace }> {
  const dir = tempDir();
  // The first start creates the default workspace.
  await (await startTestServer(dir)).close();
  const local = await openLocal(dir);
  if (!local.ok) throw new Error(local.error.message);
  const made = await local.value.workspaces.createWorkspace(name);
  await local.value.close();
  if (!made.ok) throw new Error(made.error);
  const secret = (kind: string) => made.value.keys.find((k) => k.kind === kind)?.secret ?? '';
  return { dir, other: { id: made.value.workspace.id, write: secret('write'), admin: secret('admin') } };
}

export interface ChildServer {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** The real CLI (`throughline serve`) in a child process, for crash and signal tests. */
export async function spawnServer(dataDir: string, env: Record<string, string> = {}): Promise<ChildServer> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir],
    {
      env: {
        ...process.env,
        THROUGHLINE_WRITE_KEY: WRITE_KEY,
        THROUGHLINE_ADMIN_KEY: ADMIN_KEY,
        THROUGHLINE_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1].replace('localhost', '127.0.0.1'));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  await untilHealthy(url, 20_000);
  return { url, child, output: () => out, exited };
}

/** Waits until /health says the collector accepts (it listens before its start-up finishes). */
/**
 * Waits until the server has loaded and resolved everything its log holds (`/health`: no load
 * or identity lag). After a restart over an unloaded log, reads answer after a bounded wait with
 * what is loaded so far; a test of what survived must first let the replay finish.
 */
export async function untilLoaded(url: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = (await fetch(`${url}/health`).then(
      (r) => r.json(),
      () => ({}),
    )) as { log?: { lagRows?: number }; identity?: { lagRows?: number } };
    if (h.log?.lagRows === 0 && (h.identity?.lagRows ?? 0) === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${url} did not load its log within ${timeoutMs} ms: ${JSON.stringify(h)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function untilHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url}/health did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Child servers and data directories for crash tests, killed and removed after each test.
 * Call at the top level of a test file.
 */
export function childServers(): {
  dir(): string;
  start(dataDir: string, env?: Record<string, string>): Promise<ChildServer>;
} {
  const dirs: string[] = [];
  const children: ChildServer[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.child.exitCode === null && c.child.signalCode === null) {
        c.child.kill('SIGKILL');
        await c.exited;
      }
    }
    for (const d of dirs.splice(0)) removeDir(d);
  });
  return {
    dir: () => {
      const d = tempDir();
      dirs.push(d);
      return d;
    },
    start: async (dataDir, env = {}) => {
      const s = await spawnServer(dataDir, env);
      children.push(s);
      return s;
    },
  };
}
