/**
 * The module rules of ARCHITECTURE.md, enforced by `npm run check:modules` (part of `npm test`).
 * A rule names the importer (`from`) and what it must not import (`to`).
 */
const drivers = '^(node_modules/)?(@duckdb|fastify|@fastify|prom-client|undici)';
const io = '^(node:)?(fs|net|http|https|dgram|child_process|worker_threads|cluster)$';

module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'core/ (domain logic) and sim/ (seeded data generation) are pure: no drivers, no I/O, no outer layers',
      severity: 'error',
      from: { path: '^src/(core|sim)/' },
      to: { path: [drivers, io, '^src/(services|store|http|outbound|cli|config|main)'] },
    },
    {
      name: 'core-no-io-builtins',
      severity: 'error',
      from: { path: '^src/(core|sim)/' },
      to: { dependencyTypes: ['core'], path: '^(fs|net|http|https|dgram|child_process|worker_threads|cluster)$' },
    },
    {
      name: 'services-through-ports',
      comment: 'services use core and their own port interfaces, never adapters or drivers',
      severity: 'error',
      from: { path: '^src/services/' },
      to: { path: [drivers, '^src/(store|http|outbound|cli|main)'] },
    },
    {
      name: 'adapters-stay-apart',
      comment: 'store/ and outbound/ implement ports; they do not reach the edges or each other',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(http|cli|outbound|main)' },
    },
    {
      name: 'outbound-stays-apart',
      severity: 'error',
      from: { path: '^src/outbound/' },
      to: { path: '^src/(http|cli|store|main)' },
    },
    {
      name: 'edges-use-services',
      comment: 'http/ and cli/ reach storage only through services (composition roots excepted)',
      severity: 'error',
      from: { path: '^src/(http|cli)/', pathNot: '^src/cli/main\\.ts$' },
      to: { path: ['^src/(store|outbound|main)', '@duckdb'] },
    },
    {
      name: 'only-store-imports-the-database-driver',
      severity: 'error',
      from: { pathNot: '^src/store/' },
      to: { path: '@duckdb' },
    },
    {
      name: 'web-talks-to-the-api-only',
      comment:
        'the dashboard (web/) reaches the server through /api only: from src/ it may import types (erased at build, not seen here), nothing that runs',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
};
