import { stripeEventMessages } from '../core/sources/stripe-events.js';
import type { IngestOutcome, IngestService } from './ingest-service.js';
import type { Clock } from './ports.js';

export interface WebhookStore {
  loadSecrets(): Promise<{ workspaceId: string; provider: string; secret: string }[]>;
  saveSecret(workspaceId: string, provider: string, secret: string, at: number): Promise<void>;
}

export type StripeReceipt =
  | { kind: 'stored'; outcome: IngestOutcome }
  | { kind: 'ignored'; type: string }
  | { kind: 'invalid'; reason: string };

/**
 * Tool webhooks: signing secrets per workspace, and verified events turned into messages that
 * go through the same ingest path (validation, dedup, identity) as the Tracking API.
 */
export class WebhookService {
  private readonly secrets = new Map<string, string>();

  constructor(
    private readonly store: WebhookStore,
    private readonly ingest: IngestService,
    private readonly clock: Clock,
  ) {}

  async start(): Promise<void> {
    for (const s of await this.store.loadSecrets())
      this.secrets.set(`${s.workspaceId}/${s.provider}`, s.secret);
  }

  secretOf(workspaceId: string, provider: string): string | undefined {
    return this.secrets.get(`${workspaceId}/${provider}`);
  }

  async setSecret(workspaceId: string, provider: string, secret: string): Promise<void> {
    await this.store.saveSecret(workspaceId, provider, secret, this.clock.now());
    this.secrets.set(`${workspaceId}/${provider}`, secret);
  }

  /** A Stripe event whose signature the edge has verified. */
  async receiveStripe(
    workspaceId: string,
    event: Parameters<typeof stripeEventMessages>[0],
    request: { requestId: string; ip: string | null; rawBody: string },
  ): Promise<StripeReceipt> {
    const mapped = stripeEventMessages(event);
    if (!mapped.ok) return { kind: 'invalid', reason: mapped.error };
    if (mapped.value.ignored) return { kind: 'ignored', type: event.type };
    const outcome = await this.ingest.ingest({ workspaceId, ...request, messages: mapped.value.messages });
    return { kind: 'stored', outcome };
  }
}
