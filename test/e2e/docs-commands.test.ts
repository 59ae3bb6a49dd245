import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The README and the docs tell a new user to run the command line one way: `./throughline …`
// from the repository's root (a small script around `node bin/throughline.js`). A bare
// `throughline` is not on the PATH after the README's set-up, and `npx throughline` takes seconds.

const ROOT = new URL('../../', import.meta.url).pathname;
const WRAPPER = join(ROOT, 'throughline');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f))].filter((f) =>
  f.endsWith('.md'),
);

/** Lines of fenced code blocks (commands and their output), with where they are. */
function codeLines(file: string): Array<{ where: string; line: string }> {
  const out: Array<{ where: string; line: string }> = [];
  let inBlock = false;
  readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.startsWith('```')) inBlock = !inBlock;
      else if (inBlock) out.push({ where: `${file}:${i + 1}`, line });
    });
  return out;
}

/** `throughline` as a command word that is not `./throughline` (nor a path, nor `throughline:` output). */
const BARE = /(^|[^\w./-])throughline\s/;
const NPX = /npx\s+(--?\S+\s+)*throughline/;

function run(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: ROOT });
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

describe('the docs run the command line one way', () => {
  it('code blocks call ./throughline, never a bare throughline or npx throughline', () => {
    const wrong: string[] = [];
    for (const file of DOCS) {
      for (const { where, line } of codeLines(file)) if (BARE.test(line)) wrong.push(`${where}: ${line}`);
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (NPX.test(line)) wrong.push(`${file}:${i + 1}: ${line}`);
        });
    }
    expect(wrong).toEqual([]);
  });

  it('the commands they name exist', async () => {
    const help = await run(WRAPPER, ['--help']);
    const commands = new Set(
      [...help.stdout.matchAll(/^ {2}(\w[\w-]*)/gm)].map((m) => m[1] as string).filter((c) => c !== 'help'),
    );
    expect(commands).toContain('serve');
    const unknown: string[] = [];
    for (const file of DOCS)
      for (const { where, line } of codeLines(file))
        for (const m of line.matchAll(/\.\/throughline\s+([a-z][\w-]*)/g))
          if (!commands.has(m[1] as string)) unknown.push(`${where}: ${m[1]}`);
    expect(unknown).toEqual([]);
  });
});

describe('./throughline', () => {
  it('is an executable script at the repository root', () => {
    expect(() => accessSync(WRAPPER, constants.X_OK)).not.toThrow();
  });

  it('starts quickly: --help loads neither the database nor the HTTP server', async () => {
    // A hook that lists the CommonJS packages loaded when the process exits (DuckDB's binding and
    // Fastify are CommonJS; loading them is most of a full start).
    const hook =
      'data:text/javascript,import{createRequire}from"node:module";const r=createRequire("/");' +
      'process.on("exit",()=>process.stderr.write("LOADED "+Object.keys(r.cache).join(" ")+"\\n"))';
    const started = performance.now();
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', hook, join(ROOT, 'bin/throughline.js'), '--help'], {
        cwd: ROOT,
      });
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
    const ms = performance.now() - started;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: throughline');
    const loaded = /LOADED (.*)/.exec(r.stderr)?.[1] ?? '';
    expect(loaded).toContain('commander');
    expect(loaded).not.toContain('@duckdb');
    expect(loaded).not.toContain('fastify');
    // Well under a second on an idle machine; the bound only catches a return to eager loading
    // (2–3 s) without failing on a busy one.
    expect(ms).toBeLessThan(3000);

    const wrapped = await run(WRAPPER, ['--version']);
    expect(wrapped.code, wrapped.stderr).toBe(0);
    expect(wrapped.stdout.trim()).toBe(
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });
});
