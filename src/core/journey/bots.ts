import { isbot } from 'isbot';

/**
 * Bot detection, server-side: the user agent against isbot's maintained pattern list, and a
 * behavioural signal no human produces (too many page views too fast).
 */

export type BotReason = 'user_agent' | 'event_rate';

const uaMemo = new Map<string, boolean>();

/** Whether a user agent is a known crawler, monitor or headless client (memoised: few distinct UAs). */
export function isBotUserAgent(userAgent: string | null): boolean {
  if (userAgent === null || userAgent === '') return false;
  let v = uaMemo.get(userAgent);
  if (v === undefined) {
    v = isbot(userAgent);
    if (uaMemo.size < 10_000) uaMemo.set(userAgent, v);
  }
  return v;
}

/** More views than this inside the window marks the whole visitor as a bot. */
export const RATE_LIMIT = { views: 40, windowMs: 60_000 } as const;

/** A sliding window over view times (fed in time order): true once the rate is impossible. */
export class RateWatch {
  private readonly times: number[] = [];
  private head = 0;
  tripped = false;

  push(at: number): boolean {
    if (this.tripped) return true;
    this.times.push(at);
    while ((this.times[this.head] as number) < at - RATE_LIMIT.windowMs) this.head++;
    if (this.head > 1024) {
      this.times.splice(0, this.head);
      this.head = 0;
    }
    if (this.times.length - this.head > RATE_LIMIT.views) this.tripped = true;
    return this.tripped;
  }
}
