import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describeWithTools } from '../helpers/require-tool';
import { freePort, removeDir, rewritePrometheusConfig, startDemoProcess, startPrometheus, tempDir, type Proc } from '../helpers/stack';
import { pauseExperiment, startStack, waitFor, type Stack } from './exporter-helpers';
import { artifactPath, buildHarness, ensurePluginsBuilt, launchChromium, openScenario, runScenario, startHarnessServer, type HarnessBrowser, type HarnessServer } from '../plugin/harness';

// The Faultline app as a user meets it, the BUILT plugin in headless Chromium against real parts:
// the demo service (its backend is the fault's target), a real Prometheus scraping it and an
// exporter that reads SLIs from it. Requests go through the harness' emulation of Grafana's data
// source proxy (routes of src/datasource/plugin.json).
// - 20 live panels and an experiments panel share ONE event stream connection, closed when the
//   last one goes away;
// - the app page lists the run, filters, offers Launch to Editors, and opens the run's report with
//   its SLI panels; an annotation region's link (coloured by outcome) opens the same report.
// Screenshots land in tests/artifacts/; with UPDATE_SCREENSHOTS=1 they also replace the plugin's
// catalog screenshots (src/img/screenshots/) and the README's (docs/screenshots/).

jest.setTimeout(900_000);

const ROOT = path.resolve(__dirname, '../..');
const UID = `app-e2e-${process.pid}`;
const NAME = `pause-backend-${process.pid}`;

async function shot(page: Page, name: string, catalog = false, height?: number) {
  await page.waitForTimeout(400); // let transitions settle
  const file = artifactPath(name);
  // 16:9-ish crops for the catalog, where the page's content ends.
  await page.screenshot({ path: file, ...(height ? { clip: { x: 0, y: 0, width: 1400, height } } : {}) });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    for (const dir of [...(catalog ? ['src/img/screenshots'] : []), 'docs/screenshots']) {
      mkdirSync(path.join(ROOT, dir), { recursive: true });
      copyFileSync(file, path.join(ROOT, dir, name));
    }
  }
}

/** What the shared stream registry of the page says (stream.ts keeps it on globalThis). */
function streamStats(page: Page) {
  return page.evaluate(() => {
    const reg = (globalThis as unknown as Record<symbol, Map<string, { opened: number; subscribers: number; connected: boolean }> | undefined>)[Symbol.for('faultline.eventStreams')];
    return [...(reg?.entries() ?? [])].map(([url, s]) => ({ url, opened: s.opened, subscribers: s.subscribers }));
  });
}

describeWithTools(['chromium', 'prometheus'], 'the Faultline app in Chromium against a real exporter and Prometheus', () => {
  let demo: { proc: Proc; url: string };
  let prom: { proc: Proc; url: string };
  let stack: Stack;
  let dir: string;
  let server: HarnessServer | undefined;
  let browser: HarnessBrowser | undefined;
  let page: Page;
  let errors: string[] = [];
  const pageErrors = () => errors.filter((e) => !/Failed to load resource|grafanaBootData was not set/.test(e));
  const streamRequests = () => server!.proxyLog.filter((r) => r.path.startsWith('api/v1/events/stream')).length;

  beforeAll(async () => {
    dir = tempDir('app-browser');
    demo = await startDemoProcess();
    prom = await startPrometheus(dir, rewritePrometheusConfig({ targets: { demo: new URL(demo.url).host }, dir }), await freePort());
    const [s, build] = await Promise.all([startStack({ prometheusUrl: prom.url }), buildHarness(), ensurePluginsBuilt()]);
    stack = s;
    server = await startHarnessServer({ build, datasources: [{ uid: UID, url: stack.url }], role: 'Editor' });
    browser = await launchChromium();
    page = await browser.newPage({ width: 1400, height: 900 });
    page.setDefaultNavigationTimeout(180_000);
    page.setDefaultTimeout(90_000);
    errors = await openScenario(page, server, 'livePanels', { uid: UID, count: 20, withPanel: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await stack?.close();
    await prom?.proc.stop();
    await demo?.proc.stop();
    removeDir(dir);
  });

  test('20 live panels and an experiments panel share one event stream; it closes with the last of them', async () => {
    await waitFor('every live query and the panel subscribed', async () => (await streamStats(page)).some((s) => s.subscribers >= 21), 60_000);
    // A baseline of demo traffic for the report, then the run: its events reach every panel.
    await waitFor('baseline samples in Prometheus', async () => {
      const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('count_over_time(demo_http_requests_total[15s])')}`);
      const b = (await r.json()) as { data: { result: { value: [number, string] }[] } };
      return b.data.result.some((x) => Number(x.value[1]) >= 8);
    }, 120_000);
    const backend = (await (await fetch(`${demo.url}/admin/backend`)).json()) as { pid: number };
    const created = await stack.api('POST', '/api/v1/experiments', pauseExperiment(NAME, [backend.pid], '8s', { report: { baseline: '10s', after: '30s' } }));
    expect(created.status).toBe(201);
    await waitFor('the run reached all 20 live panels', async () => {
      const rows = await page.$$eval('[data-testid^="live-panel-"]', (els) => els.map((e) => Number(e.getAttribute('data-rows'))));
      return rows.length === 20 && rows.every((n) => n >= 2);
    }, 60_000);
    expect(streamRequests()).toBe(1);
    expect(server!.openStreams()).toBe(1);
    expect(await streamStats(page)).toEqual([expect.objectContaining({ opened: 1, subscribers: 21 })]);

    await runScenario(page, 'empty', {});
    await waitFor('the stream closed with its last subscriber', async () => server!.openStreams() === 0, 20_000);
    expect(await streamStats(page)).toEqual([expect.objectContaining({ subscribers: 0 })]);
    expect(pageErrors()).toEqual([]);
  });

  test('the app page lists and filters runs, offers Launch, and opens a run report with its SLI panels', async () => {
    await waitFor('the run finished with SLIs after recovery', async () => {
      const r = await stack.api('GET', `/api/v1/experiments/default/${NAME}/report`);
      const slis = (r.body?.slis ?? []) as Array<{ name: string; recoverySeconds: number | null; after: { samples: number } }>;
      return r.body?.outcome === 'Finished' && slis.some((x) => x.name === 'error ratio' && x.recoverySeconds !== null && x.after.samples > 3);
    }, 180_000);

    await runScenario(page, 'appPage', { uid: UID, path: '/a/faultline-chaos-app/experiments', role: 'Editor' });
    const row = page.getByTestId(`experiment-default/${NAME}`);
    await row.waitFor();
    await page.getByRole('button', { name: 'Launch experiment' }).waitFor();
    await shot(page, 'app-experiments.png', true, 600);

    // The name filter narrows the list; clearing it brings the run back.
    const nameFilter = page.getByPlaceholder('Search by name');
    await nameFilter.fill('no-such-experiment');
    await row.waitFor({ state: 'detached' });
    await nameFilter.fill(NAME.slice(0, 12));
    await row.waitFor();

    await row.getByRole('link', { name: NAME }).click();
    const report = page.getByTestId('run-report');
    await report.waitFor();
    expect(await page.evaluate(() => location.pathname + location.search)).toBe(`/a/faultline-chaos-app/report?namespace=default&name=${NAME}`);
    await page.getByTestId('sli-error ratio').waitFor();
    await page.getByTestId('sli-p99 latency').waitFor();
    await expect(report.textContent()).resolves.toMatch(/Finished/);
    await shot(page, 'app-report.png', true, 788);
    expect(pageErrors()).toEqual([]);
  });

  test("an annotation region is coloured by its outcome and links to the run's report", async () => {
    const regions = await page.evaluate(async (uid) => {
      const h = (window as unknown as { harness: { loadPlugin(id: string): Promise<any> } }).harness;
      const mod = await h.loadPlugin('faultline-chaos-datasource');
      const ds = new mod.plugin.DataSourceClass({ uid, id: 1, type: 'faultline-chaos-datasource', name: 'Faultline', url: `/api/datasources/proxy/uid/${uid}`, access: 'proxy', jsonData: {}, meta: { id: 'faultline-chaos-datasource' } });
      const data = (window as unknown as { harness: { modules: Record<string, any> } }).harness.modules['@grafana/data'];
      const to = data.dateTime();
      const from = data.dateTime(to.valueOf() - 3600_000);
      const query = ds.annotations.prepareQuery({ name: 'chaos', enable: true, iconColor: 'red', target: { refId: 'Anno' } });
      const res: any = await new Promise((resolve, reject) =>
        ds.query({ targets: [query], range: { from, to, raw: { from, to } }, interval: '10s', intervalMs: 10_000, maxDataPoints: 100, scopedVars: {}, requestId: 'anno', timezone: 'utc', app: 'dashboard', startTime: Date.now() }).subscribe({ next: resolve, error: reject }),
      );
      const frame = res.data[0];
      const col = (n: string) => frame.fields.find((f: any) => f.name === n).values;
      return Array.from({ length: frame.length }, (_, i) => ({ title: col('title')[i], color: col('color')[i], tags: col('tags')[i], text: col('text')[i] }));
    }, UID);
    const region = regions.find((r) => r.title === `process-pause on default/${NAME}`)!;
    expect(region).toBeDefined();
    expect(region.color).toBe('#73BF69'); // finished
    expect(region.tags).toEqual(['faultline', 'process-pause', 'default', 'finished', expect.not.stringMatching(/pid|\d{3,}/)]);
    const href = /<a href="([^"]+)">Open the run report<\/a>/.exec(region.text)![1].replace(/&amp;/g, '&');
    expect(href).toBe(`a/faultline-chaos-app/report?namespace=default&name=${NAME}&datasource=${UID}`);

    // Following it (relative to Grafana's <base href>) opens the report on the app page.
    await runScenario(page, 'appPage', { uid: UID, path: '/a/faultline-chaos-app/experiments', role: 'Viewer' });
    await page.evaluate(async (h) => {
      const runtime = (window as unknown as { harness: { modules: Record<string, any> } }).harness.modules['@grafana/runtime'];
      runtime.locationService.push(new URL(h, document.baseURI).pathname + new URL(h, document.baseURI).search);
    }, href);
    await page.getByTestId('run-report').waitFor();
    await page.getByTestId('sli-error ratio').waitFor();
    // A Viewer sees the report but no Launch button on the list.
    await runScenario(page, 'appPage', { uid: UID, path: '/a/faultline-chaos-app/experiments', role: 'Viewer' });
    await page.getByTestId(`experiment-default/${NAME}`).waitFor();
    expect(await page.getByRole('button', { name: 'Launch experiment' }).count()).toBe(0);
  });

  test('the experiments panel on a dashboard (catalog screenshot)', async () => {
    await runScenario(page, 'panelPage', { uid: UID, mode: 'dark', role: 'Editor', width: 1240, height: 560 });
    await page.getByTestId(`experiment-default/${NAME}`).waitFor();
    await shot(page, 'panel.png', true, 600);
    expect(pageErrors()).toEqual([]);
  });
});
