import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityProblems, launchChromium, SHOTS, signedInPage } from '../support/browser.js';
import { adminApi, basic, type Json, post } from '../support/http.js';
import { startTestServer, type TestServer, untilLoaded } from '../support/servers.js';

// The Funnels page in Chromium against a real server: the builder's funnel shows the API's
// numbers step by step, a click on a drop-off lists exactly who dropped (linking to their
// profiles), and the page passes axe with no serious or critical violations.

let s: TestServer;
let browser: Browser;
let page: Page;

const DAY = 86_400_000;
const ago = (days: number, minutes = 0) => new Date(Date.now() - days * DAY + minutes * 60_000).toISOString();
const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const view = (userId: string, days: number, minutes = 0) => ({
  type: 'page',
  userId,
  timestamp: ago(days, minutes),
  context: {
    userAgent: UA,
    page: { url: 'https://app.example/pricing', referrer: 'https://www.google.com/' },
  },
});
const track = (userId: string, event: string, days: number, minutes = 0) => ({
  type: 'track',
  userId,
  event,
  timestamp: ago(days, minutes),
});

// Five visitors; three sign up; one of them (uma) requests a demo.
const EVENTS = [
  view('uma', 10),
  track('uma', 'Signed Up', 10, 5),
  track('uma', 'Demo Requested', 9),
  view('vic', 8),
  track('vic', 'Signed Up', 8, 3),
  view('wes', 7),
  track('wes', 'Signed Up', 7, 1),
  view('xia', 6),
  view('yan', 5),
].map((m, i) => ({ ...m, messageId: `fp-${i}` }));

const DRAFT = {
  steps: [
    { kind: 'page', value: '' },
    { kind: 'event', value: 'Signed Up' },
    { kind: 'event', value: 'Demo Requested' },
  ],
  windowValue: 14,
  windowUnit: 'day',
  order: 'ordered',
  from: ago(30).slice(0, 10),
  to: ago(0).slice(0, 10),
  by: 'person',
  breakdown: '',
};
const QUERY = {
  steps: [
    { name: 'Any page view', where: { field: 'type', op: 'eq', value: 'page' } },
    { event: 'Signed Up' },
    { event: 'Demo Requested' },
  ],
  window: { value: 14, unit: 'day' },
  from: DRAFT.from,
  to: DRAFT.to,
};

beforeAll(async () => {
  s = await startTestServer();
  const sent = await post(s.url, '/v1/batch', { batch: EVENTS }, { authorization: basic() });
  expect(sent.status).toBe(200);
  await untilLoaded(s.url);
  browser = await launchChromium();
  page = await signedInPage(browser, s.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe('the Funnels page in Chromium', { timeout: 90_000 }, () => {
  it('shows the API funnel step by step, lists who dropped, and passes axe', async () => {
    // The API's answer, once the tables hold every event sent.
    let api: Json;
    const end = Date.now() + 60_000;
    for (;;) {
      api = (await adminApi(s.url, 'POST', '/api/analytics/funnel', QUERY)).json;
      if (api.freshness?.current && api.steps[0].count === 5) break;
      if (Date.now() > end) throw new Error(`the funnel never settled: ${JSON.stringify(api)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(api.steps.map((x: Json) => x.count)).toEqual([5, 3, 1]);

    await page.goto(`${s.url}/funnels?q=${encodeURIComponent(JSON.stringify(DRAFT))}`);
    const steps = page.getByRole('list', { name: 'Steps' });
    await steps.waitFor();
    for (const st of api.steps)
      await expect
        .poll(() => page.getByRole('button', { name: new RegExp(`^${st.name}: ${st.count} · `) }).count())
        .toBe(1);

    // Who signed up but did not request a demo: vic and wes.
    await page.getByRole('button', { name: /^2 dropped between Signed Up and Demo Requested/ }).click();
    const people = page.getByRole('region', { name: 'People at the step' });
    await people.getByRole('link').first().waitFor();
    const names = (await people.getByRole('link').allTextContents()).sort();
    expect(names).toEqual(['vic', 'wes']);
    await page.screenshot({ path: `${SHOTS}dashboard-funnels.png`, fullPage: true });
    expect(await accessibilityProblems(page)).toEqual([]);

    // A person link opens that person's profile.
    await people.getByRole('link', { name: 'vic' }).click();
    await page.waitForURL(/\/people\/p_/);
  });

  it('builds a funnel from the form and puts it in the URL', async () => {
    await page.goto(`${s.url}/funnels`);
    await page.getByLabel('Step 1 kind').selectOption('event');
    await page.getByLabel('Step 1 event name').fill('Signed Up');
    await page.getByLabel('Step 2 kind').selectOption('event');
    await page.getByLabel('Step 2 event name').fill('Demo Requested');
    await page.getByLabel('First step from').fill(DRAFT.from);
    await page.getByRole('button', { name: 'Show the funnel' }).click();
    await expect.poll(() => page.url()).toContain('q=');
    await expect.poll(() => page.getByRole('button', { name: /^Demo Requested: 1 · 33%/ }).count()).toBe(1);
  });
});
