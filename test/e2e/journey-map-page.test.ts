import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityProblems, launchChromium, SHOTS, signedInPage } from '../support/browser.js';
import { cliAsync } from '../support/cli.js';
import { adminApi, getApi, type Json } from '../support/http.js';
import { removeDir, startTestServer, type TestServer, untilLoaded, WRITE_KEY } from '../support/servers.js';

// The journey map page in a real browser (Debian's Chromium, as dashboard.test.ts) against a
// server holding simulator data: the Sankey draws the API's nodes and flows, the flow table
// lists the API's numbers, a click on a Sankey node (through ECharts' own hit test on the canvas)
// and on a flow's button list the people the API names, switching the item redraws the map.
// Screenshots go to test-results/; axe-core finds no serious or critical violations.

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
  await page.screenshot({ path: `${SHOTS}journey-map-${name}.png`, fullPage: true });
  expect(await accessibilityProblems(page), `axe on ${name}`).toEqual([]);
}

/** The page's query for `?item=…&range=all` (no range: all time). */
const queryOf = (item: string) => ({ item, count: 'persons', stepLimit: 5 });
const mapOf = async (item: string) => {
  const r = await adminApi(s.url, 'POST', '/api/analytics/paths', queryOf(item));
  expect(r.status).toBe(200);
  return r.json;
};
const peopleOf = async (body: Json) => {
  const r = await adminApi(s.url, 'POST', '/api/analytics/paths/people', { ...body, limit: 50 });
  expect(r.status).toBe(200);
  return r.json.actors.map((a: Json) => a.id).sort();
};

/** The flow table's rows: [source, target, value]. */
const tableRows = (p: Page) =>
  p
    .locator('[data-testid=flows] tbody tr')
    .evaluateAll((rows) =>
      rows.map((r) => [
        r.getAttribute('data-source'),
        r.getAttribute('data-target'),
        Number((r.querySelectorAll('td')[2]?.textContent ?? '').replace(/,/g, '')),
      ]),
    );

/** What the Sankey was given: its nodes' names and its links. */
const sankeyData = (p: Page) =>
  p.locator('.chart').evaluate((el) => {
    const chart = (el as unknown as { echarts: { getOption(): Json } }).echarts;
    const series = chart.getOption().series[0];
    return {
      nodes: series.data.map((d: Json) => d.name).sort(),
      links: series.links.map((l: Json) => [l.source, l.target, l.value]),
    };
  });

/** Where ECharts drew a Sankey node, in page pixels. */
const nodeCentre = (p: Page, key: string) =>
  p.locator('.chart').evaluate((el, name) => {
    // biome-ignore lint/suspicious/noExplicitAny: ECharts' model API is untyped here.
    const chart = (el as any).echarts;
    const data = chart.getModel().getSeriesByIndex(0).getData();
    const layout = data.getItemLayout(data.indexOfName(name));
    const box = el.getBoundingClientRect();
    return { x: box.left + layout.x + layout.dx / 2, y: box.top + layout.y + layout.dy / 2 };
  }, key);

beforeAll(async () => {
  s = await startTestServer();
  const r = await cliAsync([
    'demo',
    '--url',
    s.url,
    '--write-key',
    WRITE_KEY,
    '--people',
    '80',
    '--seed',
    '5',
    '--days',
    '60',
    '--no-progress',
    '--json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  await untilLoaded(s.url);
  await until('the journey tables with stages and channels', async () => {
    const b = (await getApi(s.url, '/api/journey/build')).json;
    if (!(b.current && b.builder.state === 'idle')) return undefined;
    const [stages, channels] = [await mapOf('stage'), await mapOf('channel')];
    return stages.edges.length > 0 && channels.edges.length > 0 ? true : undefined;
  });
  browser = await launchChromium();
  page = await signedInPage(browser, s.url);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
  if (s) removeDir(s.dataDir);
});

describe('the journey map page in Chromium', { timeout: 90_000 }, () => {
  it('draws the API’s stage map: Sankey data, totals and flow table', async () => {
    await page.getByRole('link', { name: 'Journey map' }).click();
    await page.getByRole('heading', { name: 'Journey map' }).waitFor();
    await page.getByRole('combobox', { name: 'Date range' }).selectOption('all');
    await page.locator('.chart canvas').first().waitFor();
    const api = await mapOf('stage');
    await expect
      .poll(() => page.getByTestId('map-total').locator('strong').textContent())
      .toBe(api.total.toLocaleString('en-US'));
    await expect
      .poll(() => sankeyData(page))
      .toEqual({
        nodes: api.nodes.map((n: Json) => n.key).sort(),
        links: [...api.edges, ...api.dropOffs].map((e: Json) => [e.source, e.target, e.value]),
      });
    const firstColumn = api.nodes
      .filter((n: Json) => n.position === 1)
      .map((n: Json) => ['', n.key, n.count]);
    expect(await tableRows(page)).toEqual([
      ...firstColumn,
      ...[...api.edges, ...api.dropOffs].map((e: Json) => [e.source, e.target, e.value]),
    ]);
    await checkPage('stages');
  });

  it('lists the people of a clicked Sankey node, and of a flow', async () => {
    const api = await mapOf('stage');
    const node = api.nodes.find((n: Json) => n.position === 2 && n.kind === 'item');
    expect(node, 'a stage at step 2').toBeDefined();
    const at = await nodeCentre(page, node.key);
    await page.mouse.click(at.x, at.y);
    const heading = page.getByRole('heading', { name: /^People at / });
    await heading.waitFor();
    expect(await heading.textContent()).toBe(`People at ${node.item} (step 2)`);
    const expected = await peopleOf({ ...queryOf('stage'), node: node.key });
    expect(expected.length).toBe(Math.min(node.count, 50));
    await expect
      .poll(async () =>
        (
          await page
            .locator('[data-testid=people] li')
            .evaluateAll((li) => li.map((l) => l.getAttribute('data-id')))
        ).sort(),
      )
      .toEqual(expected);
    // Each person links to their page.
    const href = await page.locator('[data-testid=people] li a').first().getAttribute('href');
    expect(href).toMatch(/^\/people\/p_/);
    await checkPage('stage-people');
    // A flow, from the table.
    const edge = api.edges[0];
    await page
      .getByRole('button', {
        name: `People ${edge.source.replace(/^(\d+)_(.*)$/, '$2 (step $1)')} → ${edge.target.replace(/^(\d+)_(.*)$/, '$2 (step $1)')}`,
      })
      .click();
    const onEdge = await peopleOf({
      ...queryOf('stage'),
      edge: { source: edge.source, target: edge.target },
    });
    expect(onEdge).toHaveLength(Math.min(edge.value, 50));
    await expect
      .poll(async () =>
        (
          await page
            .locator('[data-testid=people] li')
            .evaluateAll((li) => li.map((l) => l.getAttribute('data-id')))
        ).sort(),
      )
      .toEqual(onEdge);
    await page.locator('[data-testid=people] li a').first().click();
    await page.waitForURL(/\/people\/p_/);
    await page.goBack();
  });

  it('switches to channels and shows the API’s channel map', async () => {
    await page.goto(`${s.url}/journey-map?range=all`);
    await page.getByRole('combobox', { name: 'Items' }).selectOption('channel');
    const api = await mapOf('channel');
    await expect
      .poll(() => sankeyData(page))
      .toEqual({
        nodes: api.nodes.map((n: Json) => n.key).sort(),
        links: [...api.edges, ...api.dropOffs].map((e: Json) => [e.source, e.target, e.value]),
      });
    await checkPage('channels');
  });
});
