/** JSON Schemas shared by routes; they drive validation of queries and the generated /openapi.json. */

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable machine-readable code, see docs/api.md' },
        message: { type: 'string', description: 'what was wrong, for a person' },
        details: {},
      },
    },
  },
} as const;

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { description: 'error', ...errorSchema }]));

export const segmentEventSchema = {
  type: 'object',
  description: 'A stored event in Segment message shape, with server-derived times',
  additionalProperties: true,
  properties: {
    type: { type: 'string', enum: ['identify', 'track', 'page', 'screen', 'group', 'alias'] },
    messageId: { type: 'string' },
    userId: { type: 'string' },
    anonymousId: { type: 'string' },
    event: { type: 'string' },
    name: { type: 'string' },
    groupId: { type: 'string' },
    previousId: { type: 'string' },
    properties: { type: 'object', additionalProperties: true },
    traits: { type: 'object', additionalProperties: true },
    context: { type: 'object', additionalProperties: true },
    integrations: { type: 'object', additionalProperties: true },
    timestamp: { type: 'string', format: 'date-time', description: 'corrected event time' },
    originalTimestamp: { type: ['string', 'null'], description: "the client's own timestamp" },
    sentAt: { type: ['string', 'null'] },
    receivedAt: { type: 'string', format: 'date-time' },
  },
} as const;
