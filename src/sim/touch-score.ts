/**
 * Scores journey touchpoints against the simulator's truth (`truth/messages.csv`), message by
 * message:
 *
 * - a **true touch** is a delivered message the truth gives a channel (the marketing, sales or
 *   support contact that really happened, as that message); retries of a message (same
 *   `message_id`, `duplicate` true) are one message;
 * - a **touchpoint** matches a true touch when its triggering message id (`messageId`) is the
 *   true touch's `message_id` and its channel is the true channel, exactly (case and spelling);
 * - precision: matched touchpoints / touchpoints; recall: matched true touches / true touches.
 *
 * A message id belongs to one true person (the simulator draws ids per message), so matching on
 * it matches the person too. Where the data files a message under another person (a shared
 * device reporting its last user), the touchpoint still counts: that is identity resolution's
 * error, scored by `identity-score.ts`, not the touchpoint's.
 */

export interface TouchTruth {
  /** True channel per message id, for true touches only. */
  channels: Map<string, string>;
  /** Delivered messages (distinct ids). */
  messages: number;
}

export interface ChannelScore {
  channel: string;
  /** True touches of this channel. */
  truth: number;
  /** Touchpoints given this channel. */
  predicted: number;
  matched: number;
  precision: number;
  recall: number;
}

export interface TouchScore {
  precision: number;
  recall: number;
  truth: number;
  predicted: number;
  matched: number;
  /** Touchpoints on a message that is no true touch. */
  notATouch: number;
  /** Touchpoints on a true touch, with another channel. */
  wrongChannel: number;
  /** True touches without a touchpoint. */
  missed: number;
  channels: ChannelScore[];
  /** The most frequent errors: `true → given` (`(none)` for no touch / no touchpoint), with counts. */
  confusions: { truth: string; predicted: string; count: number }[];
}

export interface ScoredTouchpoint {
  messageId: string;
  channel: string;
}

/** Reads `truth/messages.csv` (header `message_id,person_id,account_id,channel,duplicate`) line by line. */
export class TouchTruthReader {
  readonly truth: TouchTruth = { channels: new Map(), messages: 0 };
  private readonly seen = new Set<string>();
  private columns: { id: number; channel: number } | null = null;

  /** One line of the file, the header first. Throws on a header without the needed columns. */
  line(text: string): void {
    if (text.trim() === '') return;
    const cells = text.split(',');
    if (this.columns === null) {
      const id = cells.indexOf('message_id');
      const channel = cells.indexOf('channel');
      if (id < 0 || channel < 0)
        throw new Error('not a truth/messages.csv: no message_id and channel columns');
      this.columns = { id, channel };
      return;
    }
    const id = cells[this.columns.id] ?? '';
    if (id === '' || this.seen.has(id)) return;
    this.seen.add(id);
    this.truth.messages++;
    const channel = cells[this.columns.channel] ?? '';
    if (channel !== '') this.truth.channels.set(id, channel);
  }
}

const NONE = '(none)';
const ratio = (n: number, d: number) => (d === 0 ? 1 : n / d);

/** Scores touchpoints (each message at most once; a repeat is ignored) against the truth. */
export function scoreTouches(truth: TouchTruth, touchpoints: Iterable<ScoredTouchpoint>): TouchScore {
  const byChannel = new Map<string, { truth: number; predicted: number; matched: number }>();
  const row = (c: string) => {
    let r = byChannel.get(c);
    if (!r) {
      r = { truth: 0, predicted: 0, matched: 0 };
      byChannel.set(c, r);
    }
    return r;
  };
  for (const c of truth.channels.values()) row(c).truth++;
  const confusions = new Map<string, number>();
  const confuse = (t: string, p: string) => {
    const k = `${t}\u0000${p}`;
    confusions.set(k, (confusions.get(k) ?? 0) + 1);
  };
  const found = new Set<string>();
  let predicted = 0;
  let matched = 0;
  let notATouch = 0;
  let wrongChannel = 0;
  for (const t of touchpoints) {
    if (found.has(t.messageId)) continue;
    found.add(t.messageId);
    predicted++;
    row(t.channel).predicted++;
    const real = truth.channels.get(t.messageId);
    if (real === t.channel) {
      matched++;
      row(real).matched++;
    } else if (real === undefined) {
      notATouch++;
      confuse(NONE, t.channel);
    } else {
      wrongChannel++;
      confuse(real, t.channel);
    }
  }
  let missed = 0;
  for (const [id, c] of truth.channels) {
    if (found.has(id)) continue;
    missed++;
    confuse(c, NONE);
  }
  return {
    precision: ratio(matched, predicted),
    recall: ratio(matched, truth.channels.size),
    truth: truth.channels.size,
    predicted,
    matched,
    notATouch,
    wrongChannel,
    missed,
    channels: [...byChannel.entries()]
      .map(([channel, r]) => ({
        channel,
        ...r,
        precision: ratio(r.matched, r.predicted),
        recall: ratio(r.matched, r.truth),
      }))
      .sort((a, b) => b.truth - a.truth || b.predicted - a.predicted || a.channel.localeCompare(b.channel)),
    confusions: [...confusions.entries()]
      .map(([k, count]) => {
        const [t = '', p = ''] = k.split('\u0000');
        return { truth: t, predicted: p, count };
      })
      .sort((a, b) => b.count - a.count || a.truth.localeCompare(b.truth))
      .slice(0, 12),
  };
}
