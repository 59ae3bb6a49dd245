#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `prepare` on install).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'throughline: dist/ is missing; run `npm run build` (npm install does it via prepare).\n',
  );
  process.exit(1);
}
await import(entry.href);
