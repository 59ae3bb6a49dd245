import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const FILE = new URL('../../docs/benchmarks.md', import.meta.url);
const HEADER = `# Benchmarks

Figures measured by \`npm run bench\` (scripts in \`bench/\`). Each section is rewritten by the
last run of its benchmark and says when, on what machine and with which command it was measured.
These machines are shared and noisy: figures are medians of repeated runs, and each comes with a
baseline measured in the same run.
`;

/** Replaces (or appends) the section of one benchmark in docs/benchmarks.md. */
export function recordSection(name, markdown) {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  let doc = existsSync(FILE) ? readFileSync(FILE, 'utf8') : HEADER;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc =
    i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(FILE, doc);
}
