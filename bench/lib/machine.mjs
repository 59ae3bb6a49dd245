import { cpus, totalmem } from 'node:os';

/** What a benchmark ran on: recorded beside every figure. */
export function machine() {
  const cpu = cpus();
  return {
    date: new Date().toISOString().slice(0, 10),
    cores: cpu.length,
    cpu: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
