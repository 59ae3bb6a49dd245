import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { ApiKeyRecord, KeyKind, Workspace, WorkspaceStore } from '../services/ports.js';

const KEY_COLUMNS = `id, workspace_id, kind, secret, secret_hash, hint, label, epoch_ms(created_at)::DOUBLE,
  epoch_ms(revoked_at)::DOUBLE`;

/**
 * Workspaces and API keys, on a connection of their own: the event writer's connection is in the
 * middle of group-commit transactions, and sharing it would mix key changes into them.
 */
export class DuckDBWorkspaceStore implements WorkspaceStore {
  constructor(private readonly conn: DuckDBConnection) {}

  async listWorkspaces(): Promise<Workspace[]> {
    const rows = (
      await this.conn.runAndReadAll(
        'SELECT id, name, epoch_ms(created_at)::DOUBLE FROM workspaces ORDER BY created_at, id',
      )
    ).getRowsJS();
    return rows.map((r) => ({ id: r[0] as string, name: r[1] as string, createdAt: r[2] as number }));
  }

  async createWorkspace(workspace: Workspace, keys: ApiKeyRecord[]): Promise<void> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      await this.conn.run('INSERT INTO workspaces VALUES ($1, $2, epoch_ms($3::BIGINT))', [
        workspace.id,
        workspace.name,
        workspace.createdAt,
      ]);
      for (const key of keys) await this.conn.run(INSERT_KEY, keyParams(key));
      await this.conn.run('COMMIT');
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  async listKeys(workspaceId?: string): Promise<ApiKeyRecord[]> {
    const filter = workspaceId === undefined ? '' : 'WHERE workspace_id = $1';
    const params: DuckDBValue[] = workspaceId === undefined ? [] : [workspaceId];
    const rows = (
      await this.conn.runAndReadAll(
        `SELECT ${KEY_COLUMNS} FROM api_keys ${filter} ORDER BY created_at, id`,
        params,
      )
    ).getRowsJS();
    return rows.map((r) => ({
      id: r[0] as string,
      workspaceId: r[1] as string,
      kind: r[2] as KeyKind,
      secret: (r[3] as string | null) ?? null,
      secretHash: r[4] as string,
      hint: r[5] as string,
      label: (r[6] as string | null) ?? null,
      createdAt: r[7] as number,
      revokedAt: (r[8] as number | null) ?? null,
    }));
  }

  async insertKey(key: ApiKeyRecord): Promise<void> {
    await this.conn.run(INSERT_KEY, keyParams(key));
  }

  async revokeKey(workspaceId: string | undefined, keyId: string, at: number): Promise<boolean> {
    const scope = workspaceId === undefined ? '' : 'AND workspace_id = $3';
    const params: DuckDBValue[] = workspaceId === undefined ? [at, keyId] : [at, keyId, workspaceId];
    const r = await this.conn.run(
      `UPDATE api_keys SET revoked_at = epoch_ms($1::BIGINT) WHERE id = $2 AND revoked_at IS NULL ${scope}`,
      params,
    );
    return r.rowsChanged > 0;
  }
}

const INSERT_KEY = `INSERT INTO api_keys (id, workspace_id, kind, secret, secret_hash, hint, label, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, epoch_ms($8::BIGINT))`;

const keyParams = (k: ApiKeyRecord): DuckDBValue[] => [
  k.id,
  k.workspaceId,
  k.kind,
  k.secret,
  k.secretHash,
  k.hint,
  k.label,
  k.createdAt,
];
