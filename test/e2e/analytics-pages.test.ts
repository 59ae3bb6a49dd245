import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityProblems, launchChromium, SHOTS, signedInPage } from '../support/browser.js';
import { cliAsync } from '../support/cli.js';
import { adminApi, getApi, type Json } from '../support/http.js';
import {
  ADMIN_KEY,
  removeDir,
  startTestServer,
  type TestServer,
  untilLoaded,
  WRITE_KEY,
} from '../support/servers.js';

// The Stages and Retention pages in a real browser (Debian's Chromium) against a real server
// holding simulator data: each page shows the numbers the API gives for the same query, passes
// axe-core (no serious or critical violations) and is screenshotted into test-results/.

let s: TestServer;
let browser: Browser;
let page: Page;

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function checkPage(name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}dashboard-${name}.png`, fullPage: true });
  expect(await accessibilityProblems(page), `axe on ${name}`).toEqual([]);
}

const api = async (path: string, body: Json) => {
  const r = await adminApi(s.url, 'POST', path, body, ADMIN_KEY);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json;
};
const cells = (p: Page, selector: string) =>
  p
    .locator(selector)
    .evaluateAll((els) => els.map((e) => [...e.querySelectorAll('td')].map((td) => td.textContent ?? '')));
const fmt = (n: number) => n.toLocaleString('en-US');

beforeAll(async () => {
  s = await startTestServer();
  const r = await cliAsync([
    'demo',
    '--url',
    s.url,
    '--write-key',
    WRITE_KEY,
    '--people',
    '150',
    '--seed',
    '5',
    '--days',
    '120',
    '--no-progress',
    '--json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  await untilLoaded(s.url);
  await until('the journey tables with stage histories', async () => {
    const b = (await getApi(s.url, '/api/journey/build')).json;
    if (!(b.current && b.builder.state === 'idle')) return undefined;
    const st = await api('/api/analytics/stages', {});
    return st.freshness.current && st.transitions.length > 3 ? st : undefined;
  });
  browser = await launchChromium();
  page = await signedInPage(browser, s.url);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
  if (s) removeDir(s.dataDir);
});

describe('the analytics pages in Chromium', { timeout: 90_000 }, () => {
  it('shows the stage flow with the API numbers, for persons and for accounts', async () => {
    await page.getByRole('link', { name: 'Stages' }).click();
    await page.getByRole('heading', { name: 'Drop-off per stage' }).waitFor();
    for (const subject of ['person', 'account'] as const) {
      if (subject === 'account') {
        await page.getByRole('combobox', { name: 'Subjects' }).selectOption('account');
        await page.waitForURL(/subject=account/);
      }
      const r = await api('/api/analytics/stages', { subject });
      await expect
        .poll(async () => (await cells(page, 'tr[data-stage]')).map((c) => [c[0], c[2], c[3], c[4], c[5]]), {
          timeout: 30_000,
        })
        .toEqual(
          r.stages.map((x: Json) => [
            fmt(x.entered),
            fmt(x.advanced),
            fmt(x.dropped),
            x.dropOffRate === null ? '—' : `${(x.dropOffRate * 100).toFixed(1)}%`,
            fmt(x.current),
          ]),
        );
      const shown = await page
        .locator('td[data-transition]')
        .evaluateAll((els) => els.map((e) => [e.getAttribute('data-transition'), e.textContent]));
      expect(shown.length).toBe(r.transitions.length);
      for (const t of r.transitions) {
        const cell = shown.find(([k]) => k === `${t.from}>${t.to}`);
        expect(cell?.[1], `${t.from}>${t.to}`).toMatch(new RegExp(`^${fmt(t.count)}`));
      }
      const medians = (await cells(page, 'tr[data-time]')).map((c) => c[0]);
      expect(medians).toEqual(
        r.stages.filter((x: Json) => x.entered > 0).map((x: Json) => fmt(x.timeInStage.count)),
      );
      const cohorts = await page
        .locator('tr[data-cohort]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-cohort')));
      expect(cohorts).toEqual(r.velocity.map((v: Json) => v.cohort));
      await checkPage(`stages-${subject}`);
    }
  });

  it('shows the retention heat map, churn and activation with the API numbers', async () => {
    const to = new Date().toISOString().slice(0, 10);
    await page.goto(`${s.url}/retention?period=week&intervals=6&to=${to}&returning=Report%20Viewed`);
    await page
      .getByRole('heading', { name: /Cohorts by week/ })
      .waitFor({ timeout: 30_000 })
      .catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await page.locator('main').textContent()}`);
      });
    const r = await api('/api/analytics/retention', {
      period: 'week',
      intervals: 6,
      to,
      returningEvent: { event: 'Report Viewed' },
      retentionType: 'recurring',
    });
    expect(r.rows[0].values[0] + r.rows[1].values[0]).toBeGreaterThan(0);
    const rows = await cells(page, 'tr[data-cohort]');
    expect(rows.map((c) => c[0])).toEqual(r.rows.map((x: Json) => fmt(x.values[0])));
    rows.forEach((c, i) => {
      const row = r.rows[i];
      const expected = row.percentages
        .slice(1)
        .map((p: number | null, k: number) =>
          i + k + 1 >= r.rows.length ? '' : p === null ? '—' : `${Math.round(p * 100)}%`,
        );
      expect(c.slice(1), `cohort ${row.date}`).toEqual(expected);
    });
    const churn = await cells(page, 'tr[data-churn]');
    expect(churn.map((c) => [c[0], c[1]])).toEqual(
      r.churn.map((x: Json) => [fmt(x.previousActive), fmt(x.churned)]),
    );
    await checkPage('retention');

    // Activation over the whole demo (its first signups are weeks back), set in the form. The
    // answer to the Cohorts change is held until the signup field is half typed, then let through:
    // the re-render it causes must not wipe what is being typed (it once did, and the field's
    // change event never fired).
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    await page.route('**/api/analytics/retention', async (route) => {
      await held;
      await route.continue();
    });
    await page.getByRole('spinbutton', { name: 'Cohorts' }).fill('20');
    await page.getByRole('spinbutton', { name: 'Cohorts' }).press('Tab');
    await page.getByLabel('Activation: signup event').fill('Data Source Connected');
    const answered = page.waitForResponse('**/api/analytics/retention');
    release();
    await answered;
    await page.unroute('**/api/analytics/retention');
    await page.getByLabel('Activation: signup event').press('Tab');
    await page.waitForURL(/signup=Data/);
    await page.getByLabel('activated by').fill('Dashboard Created');
    await page.getByLabel('activated by').press('Tab');
    const withActivation = await api('/api/analytics/retention', {
      period: 'week',
      intervals: 20,
      to,
      returningEvent: { event: 'Report Viewed' },
      retentionType: 'recurring',
      activation: {
        signupEvent: { event: 'Data Source Connected' },
        activationEvent: { event: 'Dashboard Created' },
        withinDays: 7,
      },
    });
    const a = withActivation.activation;
    expect(a.signedUp).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('[data-activation]').textContent(), { timeout: 30_000 })
      .toContain(`${fmt(a.activated)} of ${fmt(a.signedUp)} signed up`);
    await checkPage('retention-activation');
  });
});
