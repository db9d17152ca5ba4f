import { describeWithTools } from '../helpers/require-tool';
import { freePort, removeDir, rewritePrometheusConfig, startPrometheus, tempDir as stackTempDir, type Proc } from '../helpers/stack';
import { cli, killAll, sleepers, startStack, waitFor, type Stack } from './exporter-helpers';

// What the CLI shows of a guard abort and of a report whose figures are missing or not final, against
// a real exporter and daemon (and a real Prometheus for the windows that are not over yet).

jest.setTimeout(600_000);

const { procs, spawn: sleeper } = sleepers();
afterAll(() => killAll(procs));

/** An Alertmanager webhook notification (version 4) for one alert with labels and a generatorURL. */
const notification = (status: 'firing' | 'resolved') => ({
  receiver: 'faultline', status, version: '4', groupKey: '{}', truncatedAlerts: 0, externalURL: 'http://127.0.0.1:9093',
  groupLabels: {}, commonLabels: {}, commonAnnotations: {},
  alerts: [{
    status, labels: { alertname: 'HighErrorRate', service: 'checkout', severity: 'page' }, annotations: {},
    startsAt: new Date().toISOString(), endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : new Date().toISOString(),
    generatorURL: 'http://prometheus.example:9090/graph?g0.expr=errors', fingerprint: `fp${process.pid}`,
  }],
});

const phase = async (s: Stack, name: string) => (await s.api('GET', `/api/v1/experiments/default/${name}`)).body?.status?.phase as string | undefined;

describe('guard aborts and report hints without Prometheus', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('an alert abort: the message names the alert and its labels; describe and report show its generatorURL as a field', async () => {
    const name = `guarded-${process.pid}`;
    const env = { FAULTLINE_SERVER: s.url };
    let r = await cli(['inject', 'process-pause', '--pid', String(sleeper()), '--for', '10m', '--name', name, '--guard-alert', 'alertname="HighErrorRate"'], env);
    expect(r.code).toBe(0);
    await waitFor('Running', async () => (await phase(s, name)) === 'Running');
    const hook = await s.api('POST', '/api/v1/alerts/alertmanager', notification('firing'));
    expect(hook.status).toBe(200);
    await waitFor('Aborted', async () => (await phase(s, name)) === 'Aborted');
    r = await cli(['describe', name], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Message:     aborted by alert HighErrorRate{service="checkout",severity="page"} (matched guard alertname="HighErrorRate")');
    expect(r.stdout).toContain('  Generator URL: http://prometheus.example:9090/graph?g0.expr=errors');
    // the URL is a field: no event line or message carries it
    expect(r.stdout.split('\n').filter((l) => l.includes('prometheus.example'))).toEqual(['  Generator URL: http://prometheus.example:9090/graph?g0.expr=errors']);
    r = await cli(['report', name], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('stopped by a guard: aborted: aborted by alert HighErrorRate{service="checkout",severity="page"}');
    expect(r.stdout).toContain('  alert source: http://prometheus.example:9090/graph?g0.expr=errors');
    // without --prometheus-url: one line saying how to get SLIs
    expect(r.stdout).toMatch(/IMPACT\n {2}SLIs not measured: the exporter has no Prometheus\. Start it with --prometheus-url http:\/\/HOST:9090 \(or FAULTLINE_PROMETHEUS_URL\) to get them\.\n/);
    const json = JSON.parse((await cli(['report', name, '-o', 'json'], env)).stdout);
    expect(json.guard.alert).toMatchObject({ alert: 'HighErrorRate', labels: { service: 'checkout' }, generatorURL: 'http://prometheus.example:9090/graph?g0.expr=errors' });
    // resolve, so the alert does not hold other tests' starts
    await s.api('POST', '/api/v1/alerts/alertmanager', notification('resolved'));
  });
});

describeWithTools(['prometheus'], 'report windows that are not finished yet (real Prometheus)', () => {
  let s: Stack;
  let prom: { proc: Proc; url: string };
  let dir: string;
  beforeAll(async () => {
    dir = stackTempDir('cli-report');
    prom = await startPrometheus(dir, rewritePrometheusConfig({ targets: {}, dir }), await freePort());
    s = await startStack({ prometheusUrl: prom.url });
  });
  afterAll(async () => {
    await s?.close();
    await prom?.proc.stop();
    removeDir(dir);
  });

  it('a running experiment, then one whose after-window is still open, say so instead of passing figures so far as the result', async () => {
    const env = { FAULTLINE_SERVER: s.url };
    const name = `window-${process.pid}`;
    // long enough that the report below sees it running however slow the machine is; then stopped
    expect((await cli(['inject', 'process-pause', '--pid', String(sleeper()), '--for', '10m', '--name', name], env)).code).toBe(0);
    await waitFor('Running', async () => (await phase(s, name)) === 'Running');
    let r = await cli(['report', name], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/not final: the experiment is still Running: "during" covers it up to now, and the 5m after-window starts when it ends/);
    expect(r.stdout).toMatch(/recovery not known yet/);
    expect(r.stdout).not.toMatch(/not within the window/);
    expect((await cli(['stop', name], env)).code).toBe(0);
    await waitFor('Finished', async () => (await phase(s, name)) === 'Finished');
    r = await cli(['report', name], env);
    expect(r.stdout).toMatch(/not final: the after-window runs until \S+Z \((4m|5m)[0-9s]*\s*from now\): "after" and recovery are figures so far/);
    const json = JSON.parse((await cli(['report', name, '-o', 'json'], env)).stdout);
    expect(json.slis.length).toBeGreaterThan(0);
    for (const sli of json.slis) expect(sli.after.partial).toBe(true);
    expect(json.slis[0].during.partial).toBeUndefined();
  });
});
