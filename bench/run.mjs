#!/usr/bin/env node
// `npm run bench` runs every benchmark; `npm run bench -- ingest` runs one. Results are printed
// and written to docs/benchmarks.md. `--quick`: smaller and fewer runs; `--full`: adds the 30M dataset.
const BENCHMARKS = {
  ingest: () => import('./ingest.bench.mjs'),
  store: () => import('./store.bench.mjs'),
  simulate: () => import('./simulate.bench.mjs'),
  import: () => import('./import.bench.mjs'),
  'import-ceiling': () => import('./import-ceiling.bench.mjs'),
  identity: () => import('./identity.bench.mjs'),
  journey: () => import('./journey.bench.mjs'),
  facts: () => import('./facts.bench.mjs'),
  'journey-tables': () => import('./journey-tables.bench.mjs'),
  'journey-serve': () => import('./journey-serve.bench.mjs'),
  dashboard: () => import('./dashboard.bench.mjs'),
  analytics: () => import('./analytics.bench.mjs'),
  dedup: () => import('./dedup.bench.mjs'),
  restart: () => import('./restart.bench.mjs'),
  probe: () => import('./probe.bench.mjs'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(BENCHMARKS);
for (const name of names) {
  if (!BENCHMARKS[name]) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
}
for (const name of names) {
  const { run } = await BENCHMARKS[name]();
  console.log(`\n== ${name}`);
  await run({ quick: process.argv.includes('--quick'), full: process.argv.includes('--full') });
}
