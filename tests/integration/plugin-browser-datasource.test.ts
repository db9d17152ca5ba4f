import { spawn, type ChildProcess } from 'node:child_process';
import type { Page } from 'playwright-core';
import { artifactPath, buildHarness, ensurePluginsBuilt, launchChromium, openScenario, runScenario, startHarnessServer, type HarnessBrowser, type HarnessServer } from '../plugin/harness';
import { startTestExporter, type TestExporter } from '../plugin/helpers/exporter';
import { waitFor } from './daemon-helpers';

// The built data source (dist/faultline-chaos-datasource/module.js) in headless Chromium, loaded through
// an AMD loader with the modules Grafana shares, its proxy routes played by the harness server in
// front of a real exporter running a real process-pause experiment. Screenshots go to
// tests/artifacts/ (datasource-*.png).

jest.setTimeout(300_000);

const NS = `browser-${process.pid}`;
const UID = 'faultline';

let exporter: TestExporter;
let server: HarnessServer;
let browser: HarnessBrowser;
let sleeper: ChildProcess;

beforeAll(async () => {
  // The vendor bundle is cached under tests/artifacts/harness-build (built once per harness change).
  const started = Date.now();
  // The exporter first: on a busy machine it starts slowly while webpack is using the CPUs.
  exporter = await startTestExporter();
  const [build, rebuilt] = await Promise.all([buildHarness(), ensurePluginsBuilt()]);
  console.log(`harness ready in ${Date.now() - started} ms (vendor bundle cached: ${build.cached}, plugins rebuilt: ${rebuilt})`);
  sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  const created = await exporter.api('POST', '/api/v1/experiments', {
    metadata: { name: 'pause-sleep', namespace: NS },
    spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids: [sleeper.pid] }, mode: 'all' }, duration: '10m' },
  });
  expect(created.status).toBe(201);
  await waitFor('experiment running', async () => (await exporter.api('GET', `/api/v1/experiments/${NS}/pause-sleep`)).body.status.phase === 'Running', 60_000, 200);
  server = await startHarnessServer({ build, datasources: [{ uid: UID, url: exporter.url }, { uid: 'down', url: 'http://127.0.0.1:9' }] });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await exporter?.api('POST', `/api/v1/experiments/${NS}/pause-sleep/stop`).catch(() => undefined);
  await exporter?.stop();
  sleeper?.kill('SIGKILL');
});

/** Page errors other than the failed requests the scenarios provoke on purpose. */
const unexpected = (errors: string[]) => errors.filter((e) => !/Failed to load resource|grafanaBootData/.test(e));

async function shoot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(300); // let icons settle
  await page.screenshot({ path: artifactPath(name), fullPage: true });
}

/** The theme's canvas colour as the browser computes it. */
const canvas = (page: Page, mode: 'dark' | 'light') =>
  page.evaluate((m) => {
    const probe = document.createElement('div');
    probe.style.color = (window as any).harness.theme(m).colors.background.canvas;
    document.body.append(probe);
    const c = getComputedStyle(probe).color;
    probe.remove();
    return c;
  }, mode);

// One page for all scenarios: the vendor bundle is parsed once, scenarios re-mount.
it('renders the built data source editors in Chromium: settings, queries with live results, kinds, errors', async () => {
  const page = await browser.newPage({ width: 1440, height: 960 });
  let errors: string[] = [];
  try {
    for (const mode of ['dark', 'light'] as const) {
      const options = {
        uid: UID,
        url: exporter.url,
        jsonData: { defaultNamespace: NS },
        tokenConfigured: true,
        test: true,
        mode,
        queries: [
          { refId: 'A', queryType: 'experiments' },
          { refId: 'B', queryType: 'events', limit: 5 },
        ],
      };
      if (mode === 'dark') errors = await openScenario(page, server, 'datasourcePage', options);
      else await runScenario(page, 'datasourcePage', options);
      // Save & test went through the proxy route to the exporter.
      const result = page.getByTestId('test-result');
      await result.waitFor({ timeout: 30_000 });
      expect(await result.getAttribute('data-status')).toBe('success');
      expect(await result.textContent()).toMatch(/Connected to Faultline exporter \d+\.\d+\.\d+/);
      // The experiments query shows the running experiment (the default namespace applies).
      const table = page.getByTestId('result-A');
      await table.getByText('pause-sleep').waitFor({ timeout: 30_000 });
      expect(await table.textContent()).toContain('Running');
      await page.getByTestId('result-B').getByText(/injected browser-/).first().waitFor({ timeout: 30_000 });
      // The editors come from the built module.
      expect(await page.getByTestId('faultline-config-editor').count()).toBe(1);
      expect(await page.getByTestId('faultline-query-editor').count()).toBe(2);
      expect(await page.locator('#faultline-config-url').inputValue()).toBe(exporter.url);
      expect(await page.locator('input[value="configured"]').isDisabled()).toBe(true);
      // Grafana's theme and global styles are applied.
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(await canvas(page, mode));
      await shoot(page, `datasource-${mode}.png`);
    }

    // The kind menu lists the exporter's kinds; choosing one re-runs the query.
    await runScenario(page, 'datasourcePage', { uid: UID, url: exporter.url, queries: [{ refId: 'A', queryType: 'active', namespace: NS }] });
    await page.getByTestId('result-A').getByText(/frame “process-pause”/).waitFor({ timeout: 30_000 });
    await page.locator('#faultline-A-kind').click();
    await page.getByText('network-bandwidth', { exact: true }).waitFor({ timeout: 10_000 });
    await shoot(page, 'datasource-kind-menu.png');
    // The Combobox list is virtualised (only the rows in view exist): type to narrow it, as a user does.
    await page.keyboard.type('process-k');
    await page.getByRole('option', { name: /^process-kill/ }).click();
    // No process-kill runs: the series becomes the zero line.
    await page.getByTestId('result-A').getByText(/frame “active faults”/).waitFor({ timeout: 30_000 });

    // Save & test names the problem when the exporter cannot be reached.
    await runScenario(page, 'datasourcePage', { uid: 'down', url: 'http://127.0.0.1:9', test: true });
    const result = page.getByTestId('test-result');
    await result.waitFor({ timeout: 30_000 });
    expect(await result.getAttribute('data-status')).toBe('error');
    expect(await result.textContent()).toMatch(/cannot reach the exporter \(502/);
    await shoot(page, 'datasource-unreachable.png');

    expect(unexpected(errors)).toEqual([]);
    // Every exporter call went through the proxy routes.
    expect(server.proxyLog.filter((r) => r.path.startsWith('api/v1/')).length).toBeGreaterThan(5);
  } finally {
    await page.close();
  }
});
