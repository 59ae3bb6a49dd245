import { createHash } from 'node:crypto';
import type { JourneySettings } from '../core/journey/journey-settings.js';

/**
 * A fingerprint of what a workspace's journey tables are derived from, in two parts,
 * `<journeys>/<stages>`: the settings sessions and touchpoints read, and the stage model, each
 * with the derivation's versions. When only the second part changed, only the stage histories
 * need folding again (sessions and touchpoints do not read the stage model).
 */
export function journeyFingerprint(settings: JourneySettings, versions: Record<string, number>): string {
  const { stagePreset, stageModel, ...journeys } = settings;
  const part = (what: unknown) =>
    createHash('sha256')
      .update(JSON.stringify({ ...versions, what }))
      .digest('hex')
      .slice(0, 32);
  return `${part(journeys)}/${part({ stagePreset, stageModel })}`;
}

/** The part of a fingerprint that sessions and touchpoints depend on. */
export const journeysPart = (fingerprint: string): string => fingerprint.split('/')[0] ?? fingerprint;
