import type { DuckDBConnection } from '@duckdb/node-api';
import type { WebhookStore } from '../services/webhook-service.js';

export class DuckDBWebhookStore implements WebhookStore {
  constructor(private readonly conn: DuckDBConnection) {}

  async loadSecrets(): Promise<{ workspaceId: string; provider: string; secret: string }[]> {
    const rows = (
      await this.conn.runAndReadAll('SELECT workspace_id, provider, secret FROM webhook_endpoints')
    ).getRowsJS();
    return rows.map((r) => ({
      workspaceId: r[0] as string,
      provider: r[1] as string,
      secret: r[2] as string,
    }));
  }

  async saveSecret(workspaceId: string, provider: string, secret: string, at: number): Promise<void> {
    await this.conn.run(
      'INSERT OR REPLACE INTO webhook_endpoints VALUES ($1, $2, $3, make_timestamp($4::BIGINT * 1000))',
      [workspaceId, provider, secret, at],
    );
  }
}
