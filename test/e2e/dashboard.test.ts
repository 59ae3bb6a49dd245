import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityProblems, launchChromium, SHOTS, signedInPage } from '../support/browser.js';
import { cliAsync } from '../support/cli.js';
import { basic, getApi, type Json, post } from '../support/http.js';
import {
  ADMIN_KEY,
  type ExtraWorkspace,
  startTestServer,
  type TestServer,
  twoWorkspaces,
  untilLoaded,
  WRITE_KEY,
} from '../support/servers.js';

// The dashboard in a real browser (Debian's Chromium, installed by .ci/run) against a real server
// holding simulator data: sign-in, every page with data, a stage-filtered list equal to the API's,
// a merged person's identity graph and an untrust in the UI that splits it, the live page showing
// an event sent during the test. Each page is screenshotted into test-results/ and checked with
// axe-core: no serious or critical violations.

let s: TestServer;
let browser: Browser;
let page: Page;
let other: ExtraWorkspace;

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const built = () =>
  until('the journey tables to be current', async () => {
    const b = (await getApi(s.url, '/api/journey/build')).json;
    return b.current && b.builder.state === 'idle' ? b : undefined;
  });

async function checkPage(name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}dashboard-${name}.png`, fullPage: true });
  expect(await accessibilityProblems(page), `axe on ${name}`).toEqual([]);
}

const ago = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

beforeAll(async () => {
  const made = await twoWorkspaces('second');
  other = made.other;
  s = await startTestServer(made.dir);
  const r = await cliAsync([
    'demo',
    '--url',
    s.url,
    '--write-key',
    WRITE_KEY,
    '--people',
    '120',
    '--seed',
    '3',
    '--days',
    '90',
    '--no-progress',
    '--json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  const demoEvents = JSON.parse(r.stdout).accepted as number;
  // A person merged through a shared device: two emails seen with one anonymous id.
  const batch = [
    {
      type: 'identify',
      anonymousId: 'shared-kiosk',
      traits: { email: 'ana@merge.example' },
      timestamp: ago(3),
    },
    {
      type: 'identify',
      anonymousId: 'shared-kiosk',
      traits: { email: 'ben@merge.example' },
      timestamp: ago(2),
    },
    { type: 'track', anonymousId: 'shared-kiosk', event: 'Pricing Viewed', timestamp: ago(2) },
  ];
  const sent = await post(s.url, '/v1/batch', { batch }, { authorization: basic() });
  expect(sent.status).toBe(200);
  await untilLoaded(s.url);
  // The loader may hold the facts of small loads back a few seconds (they are extracted in
  // batches); the journey tables follow them.
  await until('the facts and journeys of the demo', async () => {
    const o = (await getApi(s.url, `/api/overview?from=${encodeURIComponent(ago(400))}&bucket=month`)).json;
    return o.totals.events >= demoEvents && o.totals.touchpoints > 0 && o.stages.length > 0 ? o : undefined;
  });
  await built();
  browser = await launchChromium();
  page = await signedInPage(browser, s.url);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe('the dashboard in Chromium', { timeout: 90_000 }, () => {
  it('asks for the admin key, refuses a wrong one, and signs in with the right one into an HttpOnly cookie', async () => {
    const fresh = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await fresh.goto(`${s.url}/people`);
    await fresh.getByLabel('Admin key').fill('ak_wrong');
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => fresh.getByRole('alert').textContent()).toContain('not valid');
    await fresh.screenshot({ path: `${SHOTS}dashboard-sign-in.png` });
    expect(await accessibilityProblems(fresh)).toEqual([]);
    await fresh.getByLabel('Admin key').fill(ADMIN_KEY);
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    // Signed in, the page asked for is shown.
    await fresh.getByRole('heading', { name: 'People' }).waitFor();
    const cookies = await fresh.context().cookies();
    const session = cookies.find((c) => c.name === 'throughline_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    expect(
      await fresh.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie),
    ).not.toContain('throughline_session');
    expect(
      await fresh.evaluate(() =>
        JSON.stringify((globalThis as unknown as { localStorage: unknown }).localStorage),
      ),
    ).not.toContain(ADMIN_KEY);
    expect(fresh.url()).not.toContain(ADMIN_KEY);
    // A change with the cookie but without the CSRF token is refused.
    const status = await fresh.evaluate(async () => {
      const r = await fetch('/api/journey/rebuild', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      return r.status;
    });
    expect(status).toBe(403);
    await fresh.close();
  });

  it('shows the overview with the data behind it', async () => {
    await page.goto(`${s.url}/?range=365d`);
    await page.getByRole('heading', { name: 'Lifecycle stages now' }).waitFor();
    const shown = Number(
      (await page.locator('.stat', { hasText: 'Events' }).locator('.value').textContent())?.replace(/,/g, ''),
    );
    expect(shown).toBeGreaterThan(1000);
    // The number is the API's for the same range (the page asks for whole days).
    const to = new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000);
    const from = new Date(to.getTime() - 365 * 86_400_000);
    const api = (
      await getApi(s.url, `/api/overview?from=${from.toISOString()}&to=${to.toISOString()}&bucket=week`)
    ).json;
    expect(shown).toBe(api.totals.events);
    await page.locator('canvas').first().waitFor();
    await checkPage('overview');
    // Large screens: the same page at 1920 px.
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.screenshot({ path: `${SHOTS}dashboard-overview-1920.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('shows the journey KPIs on the overview as the API gives them, with their formulas', async () => {
    await page.goto(`${s.url}/?range=365d`);
    await page.getByRole('heading', { name: 'Journey KPIs' }).waitFor();
    await page.locator('[data-kpi="ltv"]').waitFor();
    const to = new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000);
    const from = new Date(to.getTime() - 365 * 86_400_000);
    const api = (await getApi(s.url, `/api/kpis?from=${from.toISOString()}&to=${to.toISOString()}`)).json;
    expect(api.kpis).toHaveLength(14);
    // As the cards (and the CLI) print a value: its unit's digits, then the unit.
    const text = (k: Json) => {
      if (k.value === null) return '—';
      const digits = k.unit === 'conversions' ? 0 : k.unit === 'currency' ? 2 : 1;
      const n = (k.value as number).toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      });
      return `${n}${{ percent: ' %', days: ' days', months: ' months' }[k.unit as string] ?? ''}`;
    };
    let numbers = 0;
    for (const k of api.kpis) {
      const card = page.locator(`[data-kpi="${k.metric}"]`);
      expect(await card.locator('.label').textContent()).toBe(k.label);
      expect(await card.locator('.value').textContent(), k.metric).toBe(text(k));
      const title = await card.getAttribute('title');
      expect(title).toContain(k.formula);
      if (k.value === null) {
        expect(await card.locator('.missing').textContent()).toBe(k.missing);
        expect(title).toContain(k.missing);
      } else numbers++;
    }
    expect(numbers).toBeGreaterThan(5); // the demo's b2b-saas data gives most of them
    await checkPage('overview-kpis');
  });

  it('is usable from the keyboard: skip link, then the navigation', async () => {
    const focusedText = () =>
      page.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document
            .activeElement.textContent,
      );
    await page.goto(`${s.url}/`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await focusedText()).toBe('Skip to content');
    // Past the skip link, the second link of the navigation is People.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await focusedText()).toBe('People');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'People' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/people');
  });

  it('keeps the filters of the URL in the form: a new search keeps the stage', async () => {
    await page.goto(`${s.url}/people?stage=customer`);
    await page.locator('[data-testid=total]').waitFor();
    await expect.poll(() => page.getByLabel('Current stage').inputValue()).toBe('customer');
    await page.getByLabel('Search', { exact: true }).fill('example');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('query')).toBe('example');
    expect(new URL(page.url()).searchParams.get('stage')).toBe('customer');
  });

  it('adds a second workspace to the session and switches to it, and back', async () => {
    await page.goto(`${s.url}/`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByText('Add a workspace').click();
    await page.getByLabel('Its admin key').fill(other.admin);
    await page.getByRole('button', { name: 'Add' }).click();
    const picker = page.getByLabel('Workspace');
    await expect.poll(() => picker.inputValue()).toBe(other.id);
    // The other workspace is empty: its overview says how to start.
    await page.getByRole('heading', { name: 'No events yet' }).waitFor();
    const defaultWs = (await picker.locator('option').allTextContents()).find(
      (w) => w !== other.id,
    ) as string;
    await picker.selectOption(defaultWs);
    await page.getByRole('heading', { name: 'Lifecycle stages now' }).waitFor();
  });

  it('lists persons by stage exactly as the API does', async () => {
    const api = (await getApi(s.url, '/api/persons?stage=customer&limit=25')).json;
    expect(api.total).toBeGreaterThan(0);
    await page.goto(`${s.url}/people?stage=customer`);
    await page.locator('[data-testid=total]').waitFor();
    expect(await page.locator('[data-testid=total]').textContent()).toBe(api.total.toLocaleString('en-US'));
    const ids = await page
      .locator('tbody tr[data-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    expect(ids).toEqual(api.persons.map((p: Json) => p.id));
    await checkPage('people');
    await page.goto(`${s.url}/accounts`);
    await page.locator('[data-testid=total]').waitFor();
    expect(await page.locator('tbody tr[data-id]').count()).toBeGreaterThan(0);
    await checkPage('accounts');
  });

  it('draws a merged person’s identity graph with its evidence, and untrusting the shared device splits it', async () => {
    const before = (await getApi(s.url, '/api/persons/email%3Aana%40merge.example')).json;
    expect(before.identifiers.map((i: Json) => i.value)).toContain('ben@merge.example');
    await page.goto(`${s.url}/people/${encodeURIComponent('email:ana@merge.example')}`);
    await page.getByRole('heading', { name: 'Identity' }).waitFor();
    await page.locator('.graph canvas').first().waitFor();
    await expect.poll(() => page.locator('main').textContent()).toContain('ben@merge.example');
    expect(await page.locator('main').textContent()).toContain('seen together in message');
    await checkPage('profile');
    await page.getByRole('button', { name: 'Untrust anonymous_id:shared-kiosk' }).click();
    await expect
      .poll(async () => {
        const after = (await getApi(s.url, '/api/persons/email%3Aana%40merge.example')).json;
        return after.identifiers.map((i: Json) => i.value);
      })
      .not.toContain('ben@merge.example');
    // The page redraws without the other person's email.
    await expect.poll(() => page.locator('table').first().textContent()).not.toContain('ben@merge.example');
    // The untrust is an operation on the person; undoing it in the UI merges them again.
    await page.getByRole('button', { name: 'Undo untrust' }).click();
    await expect
      .poll(async () => {
        const again = (await getApi(s.url, '/api/persons/email%3Aana%40merge.example')).json;
        return again.identifiers.map((i: Json) => i.value);
      })
      .toContain('ben@merge.example');
    await expect.poll(() => page.locator('table').first().textContent()).toContain('ben@merge.example');
  });

  it('shows an account with its members and journey', async () => {
    const accounts = (await getApi(s.url, '/api/accounts?limit=1')).json.accounts;
    await page.goto(`${s.url}/accounts/${encodeURIComponent(accounts[0].id)}`);
    await page.getByRole('heading', { name: /Members/ }).waitFor();
    await page.getByRole('heading', { name: 'Journey (all members)' }).waitFor();
    await checkPage('account');
  });

  it('shows an event sent during the test on the live page', async () => {
    await page.goto(`${s.url}/live`);
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('live');
    const name = `Dashboard Live ${Date.now()}`;
    const sent = await post(s.url, '/v1/track', { userId: 'live-user', event: name });
    expect(sent.status).toBe(200);
    await page.getByRole('button', { name: `Show ${name} payload` }).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: `Show ${name} payload` }).click();
    await expect.poll(() => page.locator('pre').first().textContent()).toContain('live-user');
    // A message the collector refuses is listed with its reason.
    const refused = await post(s.url, '/v1/track', { userId: 'live-user' });
    expect(refused.status).toBe(400);
    await page.reload();
    await expect
      .poll(() => page.locator('main').textContent(), { timeout: 15_000 })
      .toContain('missing_field');
    await checkPage('live');
  });

  it('shows the write key with install snippets, and a rule error next to the editor', async () => {
    await page.goto(`${s.url}/settings`);
    await expect.poll(() => page.locator('[data-testid=write-key]').textContent()).toBe(WRITE_KEY);
    await checkPage('settings');
    const editor = page.getByLabel('Settings (JSON)').first();
    await editor.waitFor();
    await editor.fill(
      '{"channels":{"rules":[{"channel":"X","when":{"field":"utm_source","op":"inn","value":"a"}}]}}',
    );
    await page.getByRole('button', { name: 'Save' }).first().click();
    await expect
      .poll(() => page.getByRole('alert').first().textContent())
      .toContain('channels.rules[0].when.op');
    // The message names its line, and the editor selects it.
    expect(await page.getByRole('alert').first().textContent()).toMatch(/^Line \d+: /);
    const selected = await page.evaluate(() => {
      const el = (
        globalThis as unknown as {
          document: { activeElement: { value: string; selectionStart: number; selectionEnd: number } };
        }
      ).document.activeElement;
      return el.value.slice(el.selectionStart, el.selectionEnd);
    });
    expect(selected.trim()).toBe('"op": "inn",');
  });
});
