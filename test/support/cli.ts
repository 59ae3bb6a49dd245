import { spawn, spawnSync } from 'node:child_process';
import { afterAll } from 'vitest';
import { BIN, removeDir, tempDir } from './servers.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process. */
export function cli(args: string[]): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Same as `cli`, without blocking this process's event loop (an in-process server must answer). */
export function cliAsync(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Fresh temporary directories, removed after the test file. Call at the top level of a test file. */
export function tempDirs(): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) removeDir(d);
  });
  return () => {
    const d = tempDir();
    dirs.push(d);
    return d;
  };
}
