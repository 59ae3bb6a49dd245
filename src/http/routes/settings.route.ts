import type { FastifyInstance } from 'fastify';
import type { KeyRing } from '../../services/workspace-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

/**
 * What analytics.js (analytics-next) fetches from its CDN before it sends anything: with
 * `cdnURL` pointed here, the Segment.io integration is told to send to this server's /v1.
 */
export async function settingsRoutes(app: FastifyInstance, deps: { keyRing: KeyRing }): Promise<void> {
  app.get<{ Params: { writeKey: string } }>(
    '/v1/projects/:writeKey/settings',
    {
      schema: {
        tags: ['Tracking API'],
        summary: 'Settings object for analytics.js (analytics-next)',
        params: { type: 'object', properties: { writeKey: { type: 'string' } }, required: ['writeKey'] },
        response: errorResponses(401),
      },
    },
    async (request, reply) => {
      const { writeKey } = request.params;
      if (deps.keyRing.workspaceForWriteKey(writeKey) === undefined) {
        return sendError(reply, 'invalid_key', 'the write key is not valid for any workspace');
      }
      // Fastify reads X-Forwarded-Host only when the proxy is trusted.
      const host = request.host;
      return {
        integrations: {
          'Segment.io': {
            apiKey: writeKey,
            apiHost: `${host}/v1`,
            protocol: request.protocol,
            unbundledIntegrations: [],
            addBundledMetadata: true,
            maybeBundledConfigIds: {},
            versionSettings: { componentTypes: ['browser'] },
          },
        },
        plan: {
          track: { __default: { enabled: true, integrations: {} } },
          identify: { __default: { enabled: true } },
          group: { __default: { enabled: true } },
        },
        edgeFunction: {},
        analyticsNextEnabled: true,
        middlewareSettings: {},
        enabledMiddleware: {},
        metrics: { sampleRate: 0 },
        legacyVideoPluginsEnabled: false,
        remotePlugins: [],
      };
    },
  );
}
