import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { allEvents, type Json } from '../support/http.js';
import { type ChildServer, removeDir, spawnServer, tempDir, WRITE_KEY } from '../support/servers.js';

// The server runs in its own process so its clock is real while the SDKs' clock is skewed.
let server: ChildServer;
let dataDir: string;
beforeAll(async () => {
  dataDir = tempDir();
  server = await spawnServer(dataDir);
});
afterAll(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
  removeDir(dataDir);
});

const HOUR = 3_600_000;

/** Sends every call type from a client whose device clock is one hour fast, then reads them back. */
async function sendAllTypes(userId: string, send: (calls: Calls) => Promise<void>): Promise<Json[]> {
  const realNow = Date.now();
  vi.useFakeTimers({ toFake: ['Date'], now: realNow + HOUR });
  try {
    await send({
      identify: { userId, traits: { email: `${userId}@example.com`, plan: 'pro' } },
      track: { userId, event: 'Order Completed', properties: { revenue: 42.5, currency: 'EUR' } },
      page: {
        userId,
        name: 'Pricing',
        properties: { url: 'https://example.com/pricing?utm_source=podcast' },
      },
      screen: { userId, name: 'Home Feed', properties: { tab: 'for-you' } },
      group: { userId, groupId: `acme-${userId}`, traits: { name: 'Acme', employees: 50 } },
      alias: { userId, previousId: `anon-${userId}` },
    });
  } finally {
    vi.useRealTimers();
  }
  const events = await allEvents(server.url, `userId=${userId}`);
  // Clock-skew correction: stored time is the server's (real) time, the client's is kept aside.
  for (const e of events) {
    const corrected = Date.parse(e.timestamp);
    const original = Date.parse(e.originalTimestamp);
    expect(Math.abs(corrected - realNow)).toBeLessThan(60_000);
    expect(original - corrected).toBeGreaterThan(HOUR - 60_000);
    expect(original - corrected).toBeLessThan(HOUR + 60_000);
    expect(e.sentAt).not.toBeNull();
    expect(e.receivedAt).toBeTruthy();
  }
  return events;
}

/** Plain JSON values: what both SDKs' parameter types accept. */
type Props = Record<string, string | number>;

interface Calls {
  identify: { userId: string; traits: Props };
  track: { userId: string; event: string; properties: Props };
  page: { userId: string; name: string; properties: Props };
  screen: { userId: string; name: string; properties: Props };
  group: { userId: string; groupId: string; traits: Props };
  alias: { userId: string; previousId: string };
}

function expectIntact(events: Json[], userId: string): void {
  const byType = Object.fromEntries(events.map((e) => [e.type, e]));
  expect(Object.keys(byType).sort()).toEqual(['alias', 'group', 'identify', 'page', 'screen', 'track']);
  expect(byType.identify.traits).toMatchObject({ email: `${userId}@example.com`, plan: 'pro' });
  expect(byType.track).toMatchObject({
    event: 'Order Completed',
    properties: { revenue: 42.5, currency: 'EUR' },
  });
  expect(byType.page).toMatchObject({ name: 'Pricing' });
  expect(byType.page.properties.url).toContain('utm_source=podcast');
  expect(byType.screen).toMatchObject({ name: 'Home Feed', properties: { tab: 'for-you' } });
  expect(byType.group).toMatchObject({ groupId: `acme-${userId}`, traits: { name: 'Acme', employees: 50 } });
  expect(byType.alias).toMatchObject({ previousId: `anon-${userId}` });
  for (const e of events) {
    expect(e.messageId).toBeTruthy();
    expect(e.context.library.name).toBeTruthy();
    expect(e.context.ip).toBe('127.0.0.1');
  }
}

describe('@segment/analytics-node against the server', () => {
  it('delivers every call type intact, with corrected timestamps', async () => {
    const failures: unknown[] = [];
    const events = await sendAllTypes('seg-user', async (c) => {
      const analytics = new SegmentAnalytics({
        writeKey: WRITE_KEY,
        host: server.url,
        flushAt: 3,
        maxRetries: 1,
      });
      analytics.on('error', (e) => failures.push(e));
      analytics.identify(c.identify);
      analytics.track(c.track);
      analytics.page(c.page);
      analytics.screen(c.screen);
      analytics.group(c.group);
      analytics.alias(c.alias);
      await analytics.closeAndFlush({ timeout: 10_000 });
    });
    expect(failures).toEqual([]);
    expectIntact(events, 'seg-user');
  });
});

describe('@rudderstack/rudder-sdk-node against the server', () => {
  it('delivers every call type intact (gzip bodies), with corrected timestamps', async () => {
    const errors: unknown[] = [];
    const events = await sendAllTypes('rs-user', async (c) => {
      const client = new RudderAnalytics(WRITE_KEY, {
        dataPlaneUrl: server.url,
        flushAt: 100,
        flushInterval: 60_000,
        logLevel: 'error',
        errorHandler: (e: unknown) => errors.push(e),
      });
      client.identify(c.identify);
      client.track(c.track);
      client.page(c.page);
      client.screen(c.screen);
      client.group(c.group);
      client.alias(c.alias);
      await client.flush();
    });
    expect(errors).toEqual([]);
    expectIntact(events, 'rs-user');
  });
});
