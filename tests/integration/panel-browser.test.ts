import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { waitFor } from '../helpers/stack';
import { describeWithTools } from '../helpers/require-tool';
import { startTestExporter, type TestExporter } from '../plugin/helpers/exporter';
import {
  artifactPath,
  buildHarness,
  ensurePluginsBuilt,
  launchChromium,
  openScenario,
  runScenario,
  startHarnessServer,
  type HarnessBrowser,
  type HarnessServer,
} from '../plugin/harness';

// The experiment panel end to end, as a user meets it: the BUILT panel and data source in headless
// Chromium, requests through Grafana's proxy rules to a REAL exporter (with its embedded daemon).
// A process-pause experiment on a `sleep` this test started is launched from the form, the process
// is really stopped (state T in /proc), it is stopped from the panel and runs again (state S).
// Screenshots (tests/artifacts/panel-*.png) of the list, the form with a validation error and the
// stop-all confirmation, in dark and light.

jest.setTimeout(600_000);

const UID = `panel-e2e-${process.pid}`;

/** Process state letter from /proc/PID/stat (the field after the command in parentheses). */
function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

async function shot(page: Page, name: string) {
  await page.waitForTimeout(300); // let transitions (drawer, modal) settle
  await page.screenshot({ path: artifactPath(name) });
}

describeWithTools(['chromium', 'sleep'], 'experiment panel in Chromium against a real exporter', () => {
  let exporter: TestExporter | undefined;
  let server: HarnessServer | undefined;
  let browser: HarnessBrowser | undefined;
  let page: Page;
  let errors: string[] = [];
  const sleepers: ChildProcess[] = [];
  // The harness page has no Grafana boot data (the runtime logs that once); anything else is a bug.
  const pageErrors = () => errors.filter((e) => !/Failed to load resource|grafanaBootData was not set/.test(e));

  beforeAll(async () => {
    const [ex, build] = await Promise.all([startTestExporter(), buildHarness(), ensurePluginsBuilt()]);
    exporter = ex;
    server = await startHarnessServer({ build, datasources: [{ uid: UID, url: ex.url }], role: 'Editor' });
    browser = await launchChromium();
    // One page for all tests: the vendor bundle is big, a busy machine takes a while to load it;
    // each test re-mounts its scenario (runScenario) without reloading.
    page = await browser.newPage({ width: 1280, height: 820 });
    page.setDefaultNavigationTimeout(180_000);
    page.setDefaultTimeout(60_000);
    errors = await openScenario(page, server, 'panelPage', { uid: UID, mode: 'dark', role: 'Editor', width: 1240, height: 520 });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    // Stop recovers anything still injected (SIGCONT) before the sleepers go.
    await exporter?.stop();
    for (const s of sleepers) s.kill('SIGKILL');
  });

  test.each(['dark', 'light'] as const)('launch process-pause, watch it run, stop it from the panel (%s)', async (mode) => {
    const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    sleepers.push(sleeper);
    const pid = sleeper.pid!;
    const name = `pause-sleep-${mode}-${process.pid}`;
    await waitFor('sleep to be sleeping', () => procState(pid) === 'S', 10_000);

    server!.setRole('Editor');
    await runScenario(page, 'panelPage', { uid: UID, mode, role: 'Editor', width: 1240, height: 520 });
    await page.getByRole('button', { name: 'Launch experiment' }).waitFor({ timeout: 60_000 });

    // The form: kind, a discovered target (the sleeper), a bad duration first.
    await page.getByRole('button', { name: 'Launch experiment' }).click();
    await page.locator('#faultline-kind').click();
    await page.locator('#faultline-kind').fill('Process pause');
    await page.getByRole('option').filter({ hasText: 'Process pause' }).first().click();
    await page.getByText('Stops the target processes with SIGSTOP', { exact: false }).waitFor();
    await page.locator('#faultline-target-pick').click();
    await page.keyboard.type(`pid ${pid} (sleep)`);
    // clicked, as a user does: Enter right after typing raced the list's filtering (it picked nothing, about one run in three)
    await page.getByRole('option').filter({ hasText: `pid ${pid} (sleep)` }).first().click();
    await waitFor('the picked pid in the PIDs field', async () => (await page.locator('#faultline-pids').inputValue()) === String(pid), 10_000);
    // The picker adds and starts empty again (a Combobox would otherwise keep the picked label).
    expect(await page.locator('#faultline-target-pick').inputValue()).toBe('');
    await page.locator('#faultline-name').fill(name);
    await page.locator('#faultline-template').scrollIntoViewIfNeeded();
    await shot(page, `panel-form-${mode}.png`);
    await page.locator('#faultline-duration').fill('soon');
    await page.getByRole('button', { name: 'Launch', exact: true }).click();
    await page.getByText('must be a duration such as 500ms, 30s, 5m or 1h30m').waitFor();
    await page.getByRole('alert', { name: 'Some fields need attention' }).scrollIntoViewIfNeeded();
    await shot(page, `panel-form-validation-${mode}.png`);
    // Nothing was sent: the exporter has no such experiment.
    expect((await exporter!.api('GET', `/api/v1/experiments/default/${name}`)).status).toBe(404);

    await page.locator('#faultline-duration').fill('5m');
    await page.getByRole('button', { name: 'Launch', exact: true }).click();

    // Running in the list (live, no refresh), and the process is really stopped.
    const row = page.getByTestId(`experiment-default/${name}`);
    await row.getByText('Running', { exact: true }).waitFor({ timeout: 60_000 });
    await waitFor('sleep to be stopped (T)', () => procState(pid) === 'T', 30_000);
    await row.getByText('Injected', { exact: true }).waitFor({ timeout: 30_000 });
    await page.getByText(/left$/).first().waitFor();
    await shot(page, `panel-list-${mode}.png`);

    // Stop from the panel: Finished, and the process runs again.
    await row.getByRole('button', { name: /^Stop/ }).click();
    await row.getByText('Finished', { exact: true }).waitFor({ timeout: 60_000 });
    await waitFor('sleep to run again (S)', () => procState(pid) === 'S', 30_000);
    const stored = (await exporter!.api('GET', `/api/v1/experiments/default/${name}`)).body;
    expect(stored.status.phase).toBe('Finished');
    expect(stored.spec).toMatchObject({ fault: { kind: 'process-pause' }, duration: '5m', targets: { selector: { pids: [pid] } } });

    // The kill switch asks first.
    await page.getByRole('button', { name: 'Stop all' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Stop all experiments?').waitFor();
    await shot(page, `panel-stop-all-confirm-${mode}.png`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });

    expect(pageErrors()).toEqual([]);
  });

  test('a Viewer sees the list read-only, and the proxy refuses mutations anyway', async () => {
    server!.setRole('Viewer');
    await runScenario(page, 'panelPage', { uid: UID, mode: 'dark', role: 'Viewer', width: 1240, height: 420 });
    await page.getByText('View only').waitFor({ timeout: 60_000 });
    await page.getByTestId(/^experiment-default\/pause-sleep-dark/).first().waitFor();
    expect(await page.getByRole('button', { name: 'Stop all' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Launch experiment' }).count()).toBe(0);
    await shot(page, 'panel-list-viewer-dark.png');
    // Crafting the request does not help: Grafana's proxy (reqRole Editor) answers 403.
    const status = await page.evaluate(async (uid) => (await fetch(`/api/datasources/proxy/uid/${uid}/api/v1/stop-all`, { method: 'POST' })).status, UID);
    expect(status).toBe(403);
    expect(pageErrors()).toEqual([]);
  });
});
