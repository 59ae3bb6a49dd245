import { sqlString } from './rules-sql.js';

/**
 * Whose journeys a set of journey tables holds. Persons and accounts are derived by the same SQL
 * (journey-sql.ts, stage-sql.ts): only the relation of (subject, event) pairs, the tables written
 * and how `stage_history` names a subject differ. Keys are integers either way (person_map's
 * person keys; account_keys' account keys), the column the SQL partitions by.
 */
export interface JourneySubject {
  kind: 'person' | 'account';
  /** The key column of this subject's journey tables. */
  key: 'person_key' | 'account_key';
  tables: { steps: string; sessions: string; touchpoints: string; subjects: string };
  /** Whether its journeys hold only part of a workspace's events (then read through a filter). */
  sparse: boolean;
  /**
   * The (subject key AS person, seq) pairs of a workspace's journeys: an event belongs to every
   * subject it reaches. `keys`: only these subjects (a SQL list of integers).
   */
  relation(workspaceId: string, keys?: string): string;
  /**
   * `stage_history.subject` of the rows of a relation aliased `alias` with columns `workspace_id`
   * and `keyColumn`: what to join (`join`) and the expression (`subject`).
   */
  stageSubject(alias: string, keyColumn: string): { join: string; subject: string };
}

export const PERSONS: JourneySubject = {
  kind: 'person',
  key: 'person_key',
  tables: {
    steps: 'journey_steps',
    sessions: 'journey_sessions',
    touchpoints: 'journey_touchpoints',
    subjects: 'journey_persons',
  },
  sparse: false,
  relation(workspaceId, keys) {
    const ws = sqlString(workspaceId);
    return `SELECT DISTINCT pm.person_key AS person, ei.seq
      FROM event_identity ei JOIN person_map pm ON pm.identifier_id = ei.identifier_id
      WHERE ei.workspace_id = ${ws} AND pm.workspace_id = ${ws}${keys ? ` AND pm.person_key IN (${keys})` : ''}`;
  },
  stageSubject: (alias, keyColumn) => ({ join: '', subject: `${alias}.${keyColumn}::VARCHAR` }),
};

/**
 * An account's journey: the events of every identifier of its member persons (the persons of
 * the identifiers that joined it with a group call, and those identifiers themselves), and the
 * events tagged with its group id — what person-service.ts `accountIdentifiers` and the
 * timeline's account events give the model.
 */
export const ACCOUNTS: JourneySubject = {
  kind: 'account',
  key: 'account_key',
  tables: {
    steps: 'account_journey_steps',
    sessions: 'account_journey_sessions',
    touchpoints: 'account_journey_touchpoints',
    subjects: 'account_journeys',
  },
  sparse: true,
  relation(workspaceId, keys) {
    const ws = sqlString(workspaceId);
    const only = keys ? ` AND ak.account_key IN (${keys})` : '';
    return `SELECT DISTINCT person, seq FROM (
        SELECT m.account_key AS person, ei.seq FROM (
            SELECT ak.account_key, coalesce(pm2.identifier_id, am.identifier_id) AS identifier_id
            FROM account_members am
            JOIN account_keys ak ON ak.workspace_id = am.workspace_id AND ak.group_id = am.group_id
            LEFT JOIN person_map pm1 ON pm1.workspace_id = am.workspace_id AND pm1.identifier_id = am.identifier_id
            LEFT JOIN person_map pm2 ON pm2.workspace_id = pm1.workspace_id AND pm2.person_key = pm1.person_key
            WHERE am.workspace_id = ${ws}${only}) m
          JOIN event_identity ei ON ei.workspace_id = ${ws} AND ei.identifier_id = m.identifier_id
        UNION ALL
        SELECT ak.account_key, ei.seq FROM event_identity ei
          JOIN account_keys ak ON ak.workspace_id = ei.workspace_id AND ak.group_id = ei.group_id
          WHERE ei.workspace_id = ${ws}${only})`;
  },
  stageSubject: (alias, keyColumn) => ({
    join: `JOIN account_keys ${alias}_ak ON ${alias}_ak.workspace_id = ${alias}.workspace_id
      AND ${alias}_ak.account_key = ${alias}.${keyColumn}`,
    subject: `${alias}_ak.group_id`,
  }),
};

/** Gives every account of a workspace without a key one (keys are never reused). */
export const assignAccountKeysSql = (workspaceId: string): string => {
  const ws = sqlString(workspaceId);
  return `INSERT INTO account_keys
    SELECT ${ws}, group_id, (SELECT coalesce(max(account_key), 0) FROM account_keys WHERE workspace_id = ${ws})
      + row_number() OVER (ORDER BY group_id)
    FROM (SELECT DISTINCT group_id FROM account_members WHERE workspace_id = ${ws}
          EXCEPT SELECT group_id FROM account_keys WHERE workspace_id = ${ws})`;
};

/**
 * Per person of a workspace (or of `keys`, a SQL list of integers): a hash of the set of its
 * identifiers (person_map has one row per identifier), what `journey_identity` records with its
 * journey rows.
 */
export const personIdentityHashSql = (workspaceId: string, keys?: string): string =>
  // hash() of a lone integer maps 0 to 0, which a xor would lose: each id is hashed with a tag.
  `SELECT person_key, bit_xor(hash('identifier', identifier_id)) AS identity_hash FROM person_map
   WHERE workspace_id = ${sqlString(workspaceId)}${keys ? ` AND person_key IN (${keys})` : ''} GROUP BY person_key`;
