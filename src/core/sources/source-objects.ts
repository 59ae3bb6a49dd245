import { BILLING_OBJECTS } from './billing-objects.js';
import { CRM_OBJECTS } from './crm-objects.js';
import { FEEDBACK_OBJECTS } from './feedback-objects.js';
import type { SourceKind, SourceObject } from './source-object.js';

/**
 * Every offline source object: what a CRM, support desk, billing system, survey tool or ad
 * platform export holds, and the Segment messages each record becomes (docs/events.md).
 */
export const SOURCE_OBJECTS: SourceObject[] = [...CRM_OBJECTS, ...FEEDBACK_OBJECTS, ...BILLING_OBJECTS];

export function sourceObject(kind: SourceKind, object: string): SourceObject | undefined {
  return SOURCE_OBJECTS.find((o) => o.kind === kind && o.object === object);
}
