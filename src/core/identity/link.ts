/** Links: identifiers seen together on one message (or joined by a person), with the evidence. */

export type LinkRule = 'message' | 'manual_merge';

export interface Evidence {
  /** Event time of the message (or of the operation), epoch ms. */
  at: number;
  messageId: string;
  seq: number;
}

export interface Link extends Evidence {
  id: number;
  /** Identifier ids, highest priority first. */
  members: number[];
  rule: LinkRule;
  alive: boolean;
}

export interface Drop {
  identifier: number;
  /** `limit:<type>` or `apart:<constraint id>`. */
  reason: string;
}

/** A keep-apart constraint: `side` may not share a person with `others` (an identifier removal). */
export interface Apart {
  id: number;
  side: number[];
  others: number[];
}

export interface ObserveResult {
  /** The link recorded for this message; null when it carried fewer than two identifiers. */
  link: Link | null;
  /** New link, or an existing one with earlier evidence: the log needs a row. */
  logged: boolean;
}

/** Replay order: event time, then messageId, then arrival. */
export const before = (a: Evidence, b: Evidence): boolean =>
  a.at < b.at ||
  (a.at === b.at && (a.messageId < b.messageId || (a.messageId === b.messageId && a.seq < b.seq)));

/** A copy: a link's evidence moves when an earlier sighting arrives, a region's high-water mark must not. */
export const evidenceOf = (e: Evidence): Evidence => ({ at: e.at, messageId: e.messageId, seq: e.seq });
