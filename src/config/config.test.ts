import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('runs with no flags and no environment', () => {
    const r = loadConfig({}, {});
    expect(r).toMatchObject({ ok: true, value: { port: 8080, dataDir: './data', trustProxy: false } });
  });

  it('takes flags over environment', () => {
    const r = loadConfig({ port: '9001' }, { THROUGHLINE_PORT: '9000', THROUGHLINE_DATA_DIR: '/tmp/x' });
    expect(r).toMatchObject({ ok: true, value: { port: 9001, dataDir: '/tmp/x' } });
  });

  it('names the setting and value that are wrong', () => {
    const r = loadConfig({}, { THROUGHLINE_PORT: 'eighty', THROUGHLINE_ADMIN_KEY: 'short' });
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.error;
    expect(errors.some((e) => e.startsWith('--port / THROUGHLINE_PORT = "eighty"'))).toBe(true);
    expect(errors.some((e) => e.startsWith('THROUGHLINE_ADMIN_KEY = (hidden)'))).toBe(true);
  });

  it('checks tuning settings', () => {
    const r = loadConfig(
      {},
      { THROUGHLINE_CHECKPOINT_THRESHOLD: 'lots', THROUGHLINE_LOG_RETENTION: 'forever' },
    );
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.error;
    expect(errors.some((e) => e.startsWith('THROUGHLINE_CHECKPOINT_THRESHOLD = "lots"'))).toBe(true);
    expect(errors.some((e) => e.startsWith('THROUGHLINE_LOG_RETENTION = "forever"'))).toBe(true);
    expect(loadConfig({}, { THROUGHLINE_CHECKPOINT_THRESHOLD: '256MB' })).toMatchObject({
      ok: true,
      value: { checkpointThreshold: '256MB' },
    });
  });

  it('reads a trusted proxy list', () => {
    const r = loadConfig({}, { THROUGHLINE_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' });
    expect(r).toMatchObject({ ok: true, value: { trustProxy: ['127.0.0.1', '10.0.0.0/8'] } });
  });
});
