import type { Condition } from '../journey/conditions.js';
import {
  FACT_COLUMNS,
  type FieldResolver,
  type FieldSql,
  messageFieldSql,
  sqlJsNumber,
  sqlSourceCategory,
} from '../journey/rules-sql.js';
import { CLICK_IDS, type JsonRoot } from '../journey/touch-fields.js';

/**
 * The fields analytics conditions and breakdowns read, as SQL over one event row: its actor row
 * (alias `a`: the event's name and type, the channel in effect), its other facts (alias `f`),
 * its raw JSON (alias `e`), the touchpoint in effect (alias `tp`: source, medium, campaign,
 * referring domain) and the stage in effect (alias `st`) — each joined only when a field needs it.
 *
 * - `traits.x` is what the event itself says (an identify call's traits, else `context.traits`).
 * - Journey annotations a stage trigger may read (`touchpoint`, `session_number`) are not
 *   analytics fields: they read as missing.
 */

const FACT_FIELDS: Record<string, string> = {
  event: 'a.event',
  type: 'a.type',
  utm_source: 'f.utm_source',
  utm_medium: 'f.utm_medium',
  utm_campaign: 'f.utm_campaign',
  content: 'f.utm_content',
  term: 'f.utm_term',
  landing_url: `f.${FACT_COLUMNS.pageUrl}`,
  landing_path: `f.${FACT_COLUMNS.pagePath}`,
  gad_source: `f.${FACT_COLUMNS.gadSource}`,
  self_reported: `f.${FACT_COLUMNS.selfReported}`,
  promo_code: `f.${FACT_COLUMNS.promoCode}`,
  ...Object.fromEntries(CLICK_IDS.map((id) => [id, `f.${id}`])),
  channel: 'a.channel',
  source: 'tp.source',
  medium: 'tp.medium',
  campaign: 'tp.campaign',
  referring_domain: 'tp.referring_domain',
  stage: 'st.stage',
};

const TOUCH_FIELDS = new Set(['source', 'medium', 'campaign', 'referring_domain']);

/** Which joins the fields of a query need. */
export interface FieldNeeds {
  /** Facts beyond the event's name and type (alias `f`). */
  facts: boolean;
  json: boolean;
  touchpoint: boolean;
  stage: boolean;
}

export function needsOf(fields: readonly string[]): FieldNeeds {
  return {
    facts: fields.some((f) => FACT_FIELDS[f]?.startsWith('f.') === true),
    json: fields.some((f) => f.includes('.')),
    touchpoint: fields.some((f) => TOUCH_FIELDS.has(f)),
    stage: fields.includes('stage'),
  };
}

/** Every field a condition reads. */
export function fieldsOf(c: Condition | undefined): string[] {
  if (c === undefined || 'else' in c) return [];
  if ('all' in c) return c.all.flatMap(fieldsOf);
  if ('any' in c) return c.any.flatMap(fieldsOf);
  if ('not' in c) return fieldsOf(c.not);
  return [c.field];
}

const text = (column: string): FieldSql => ({
  text: `${column}::VARCHAR`,
  num: sqlJsNumber(`${column}::VARCHAR`),
});

/** A field's SQL over the aliases above. */
export function eventFieldSql(field: string): FieldSql {
  // A message type is one of Segment's lower-case words: it is its own lower case (no per-row
  // case folding, which a condition on `type` would otherwise pay on every event).
  if (field === 'type') return { ...text('a.type'), lowered: 'a.type' };
  const column = FACT_FIELDS[field];
  if (column !== undefined) return text(column);
  const dot = field.indexOf('.');
  if (dot > 0) {
    const root = field.slice(0, dot) as JsonRoot;
    const path = field.slice(dot + 1);
    if (root === 'traits') {
      const own = messageFieldSql('traits', path, 'e');
      const context = messageFieldSql('context', `traits.${path}`, 'e');
      return { text: `coalesce(${own.text}, ${context.text})`, num: `coalesce(${own.num}, ${context.num})` };
    }
    return messageFieldSql(root, path, 'e');
  }
  return { text: 'NULL::VARCHAR', num: 'NULL::DOUBLE' };
}

export const EVENT_FIELDS: FieldResolver = {
  field: eventFieldSql,
  category: (name) => sqlSourceCategory(eventFieldSql(name).text),
};
