import type { MessageType } from '../../core/spec/message.js';
import { errorResponses } from './common.schema.js';

const message = {
  type: 'object',
  additionalProperties: true,
  properties: {
    type: { type: 'string' },
    userId: { type: ['string', 'number'] },
    anonymousId: { type: ['string', 'number'] },
    messageId: { type: 'string', maxLength: 100 },
    event: { type: 'string', description: 'track: the event name (required)' },
    name: { type: 'string', description: 'page/screen name' },
    groupId: { type: ['string', 'number'], description: 'group: required' },
    previousId: { type: ['string', 'number'], description: 'alias: required' },
    properties: { type: 'object', additionalProperties: true },
    traits: { type: 'object', additionalProperties: true },
    context: { type: 'object', additionalProperties: true },
    integrations: { type: 'object', additionalProperties: true },
    timestamp: { type: 'string', format: 'date-time' },
    sentAt: { type: 'string', format: 'date-time' },
    writeKey: { type: 'string', description: 'alternative to Basic auth / X-Write-Key' },
  },
} as const;

const security: Array<Record<string, string[]>> = [{ writeKeyBasic: [] }, { writeKeyHeader: [] }];

export const trackingSchemas = {
  single: (type: MessageType, path: string) => ({
    tags: ['Tracking API'],
    summary: path.length === 1 ? `${type} (short path used by analytics.js)` : `Send one ${type} message`,
    security,
    body: message,
    response: {
      200: {
        type: 'object',
        properties: { success: { type: 'boolean' }, duplicate: { type: 'boolean' } },
      },
      ...errorResponses(400, 401, 409, 413, 415, 503),
    },
  }),
  batch: (path: string) => ({
    tags: ['Tracking API'],
    summary:
      path === 'import' ? 'Import a batch (historical data; same as /v1/batch)' : 'Send up to 2,500 messages',
    security,
    body: {
      type: 'object',
      required: ['batch'],
      properties: {
        batch: { type: 'array', maxItems: 2500, items: message },
        context: { type: 'object', additionalProperties: true, description: 'merged into each message' },
        integrations: { type: 'object', additionalProperties: true },
        sentAt: { type: 'string', format: 'date-time' },
        writeKey: { type: 'string' },
      },
    },
    response: {
      200: {
        type: 'object',
        properties: {
          success: { type: 'boolean' },
          accepted: { type: 'integer', description: 'messages stored' },
          duplicates: { type: 'integer', description: 'messages already stored under the same messageId' },
          errors: {
            type: 'array',
            description: 'rejected messages, by position in the batch; each is kept in quarantine',
            items: {
              type: 'object',
              properties: {
                index: { type: 'integer' },
                code: { type: 'string' },
                message: { type: 'string' },
                field: { type: 'string' },
              },
            },
          },
        },
      },
      ...errorResponses(400, 401, 413, 415, 503),
    },
  }),
};
