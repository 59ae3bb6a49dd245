import type { FastifyInstance } from 'fastify';
import Stripe from 'stripe';
import { parseStripeEvent } from '../../core/sources/stripe-events.js';
import type { WebhookService } from '../../services/webhook-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

interface Deps {
  webhooks: WebhookService;
}

/**
 * Stripe's webhook endpoint. The signature (Stripe-Signature, HMAC of the raw body with the
 * endpoint secret, checked by Stripe's own library with its 5-minute tolerance) is verified
 * before anything is read; unsigned or badly signed requests get 400 and nothing is stored.
 */
export async function stripeWebhookRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  // The signature covers the exact bytes: keep the body as text in this scope.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.post<{ Params: { workspace: string }; Body: string }>(
    '/webhooks/stripe/:workspace',
    {
      schema: {
        tags: ['Webhooks'],
        summary: 'Stripe events (invoices, subscriptions) → billing events',
        params: { type: 'object', required: ['workspace'], properties: { workspace: { type: 'string' } } },
        response: errorResponses(400, 404, 415),
      },
    },
    async (request, reply) => {
      const ws = request.params.workspace;
      const secret = deps.webhooks.secretOf(ws, 'stripe');
      if (secret === undefined) {
        return sendError(
          reply,
          'not_found',
          `no Stripe endpoint is configured for workspace ${JSON.stringify(ws)} (PUT /api/webhooks/stripe)`,
        );
      }
      const signature = request.headers['stripe-signature'];
      if (typeof signature !== 'string' || signature === '') {
        return sendError(reply, 'invalid_signature', 'missing Stripe-Signature header');
      }
      const body = typeof request.body === 'string' ? request.body : '';
      let parsed: unknown;
      try {
        parsed = Stripe.webhooks.constructEvent(body, signature, secret);
      } catch (e) {
        // The signature is checked before the body is parsed: a SyntaxError means signed non-JSON.
        if (e instanceof SyntaxError)
          return sendError(reply, 'invalid_body', `the signed body is not JSON: ${e.message}`);
        return sendError(
          reply,
          'invalid_signature',
          `Stripe signature check failed: ${(e as Error).message}`,
        );
      }
      // Signed is not well formed: a malformed event is the sender's mistake (400), never a 500
      // that Stripe would retry for days.
      const event = parseStripeEvent(parsed);
      if (!event.ok) return sendError(reply, 'invalid_body', `not a Stripe event: ${event.error}`);
      const receipt = await deps.webhooks.receiveStripe(ws, event.value, {
        requestId: request.id,
        ip: request.ip ?? null,
        rawBody: body,
      });
      if (receipt.kind === 'invalid') return sendError(reply, 'invalid_body', receipt.reason);
      if (receipt.kind === 'ignored') return { received: true, ignored: receipt.type };
      const failure = receipt.outcome.failures[0];
      if (failure) return sendError(reply, failure.code, failure.message);
      return { received: true, accepted: receipt.outcome.accepted, duplicates: receipt.outcome.duplicates };
    },
  );
}

/** Admin: the Stripe endpoint secret of the workspace. */
export async function webhookSettingsRoutes(
  app: FastifyInstance,
  deps: { webhooks: WebhookService },
): Promise<void> {
  const security = [{ adminKey: [] }];
  app.put<{ Body: { endpointSecret: string } }>(
    '/api/webhooks/stripe',
    {
      schema: {
        tags: ['Webhooks'],
        security,
        summary:
          "Set the Stripe endpoint's signing secret (whsec_…); events then go to /webhooks/stripe/<workspace id>",
        body: {
          type: 'object',
          required: ['endpointSecret'],
          additionalProperties: false,
          properties: { endpointSecret: { type: 'string', pattern: '^whsec_[A-Za-z0-9_]+$' } },
        },
        response: errorResponses(400, 401),
      },
    },
    async (request) => {
      await deps.webhooks.setSecret(request.workspaceId!, 'stripe', request.body.endpointSecret);
      return { endpoint: `/webhooks/stripe/${request.workspaceId}`, configured: true };
    },
  );
  app.get(
    '/api/webhooks/stripe',
    {
      schema: {
        tags: ['Webhooks'],
        security,
        summary: 'Whether a Stripe endpoint is configured, and its URL path',
      },
    },
    async (request) => ({
      endpoint: `/webhooks/stripe/${request.workspaceId}`,
      configured: deps.webhooks.secretOf(request.workspaceId!, 'stripe') !== undefined,
    }),
  );
}
