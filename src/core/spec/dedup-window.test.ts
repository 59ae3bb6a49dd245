import { describe, expect, it } from 'vitest';
import { DedupWindow } from './dedup-window.js';

const DAY = 86_400_000;

describe('DedupWindow', () => {
  it('tells new ids, exact repeats and conflicting repeats apart', () => {
    const w = new DedupWindow(7 * DAY, 0);
    expect(w.check('k', 'fp1', 1)).toBe('new');
    expect(w.check('k', 'fp1', 2)).toBe('duplicate');
    expect(w.check('k', 'fp2', 3)).toBe('conflict');
  });

  it('remembers an id for at least the window, and forgets it after two', () => {
    const w = new DedupWindow(7 * DAY, 0);
    w.check('k', 'fp', 6 * DAY);
    expect(w.check('k', 'fp', 7 * DAY + 1)).toBe('duplicate'); // rotated once: still known
    expect(w.check('k', 'fp', 13 * DAY)).toBe('duplicate');
    expect(w.check('x', 'fp', 14 * DAY + 2)).toBe('new'); // second rotation
    expect(w.check('k', 'fp', 14 * DAY + 3)).toBe('new');
  });

  it('forgets ids on request so a failed commit can be retried', () => {
    const w = new DedupWindow(DAY, 0);
    w.check('k', 'fp', 0);
    w.forget('k');
    expect(w.check('k', 'fp', 1)).toBe('new');
  });
});
