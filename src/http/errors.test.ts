import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { installErrorHandling } from './errors.js';

const app = Fastify();
installErrorHandling(app);
app.put('/api/thing', async (request) => ({ got: request.body }));
afterAll(() => app.close());

const put = (headers: Record<string, string>, payload = '{"a":1}') =>
  app.inject({ method: 'PUT', url: '/api/thing', headers, payload });

describe('a body the route cannot read', () => {
  it.each([
    ['application/xml', /Content-Type "application\/xml" is not accepted by PUT \/api\/thing/],
    ['', /the Content-Type header is empty/],
    ['json', /Content-Type "json" is not a media type/],
    [';charset=utf-8', /Content-Type ";charset=utf-8" is not a media type/],
  ])('Content-Type %j → 415 unsupported_media_type saying what to send', async (ct, message) => {
    const res = await put({ 'content-type': ct });
    expect(res.statusCode).toBe(415);
    const { error } = res.json();
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/send application\/json/);
  });

  it('a body without any Content-Type says so', async () => {
    const res = await app.inject({ method: 'PUT', url: '/api/thing', payload: Buffer.from('{}') });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.message).toBe('the body has no Content-Type header; send application/json');
  });

  it('a JSON body is still read', async () => {
    const res = await put({ 'content-type': 'application/json' });
    expect(res.json()).toEqual({ got: { a: 1 } });
  });
});
