import path from 'node:path';
import { describeWithTools } from '../helpers/require-tool';
import { freePort, removeDir, rewritePrometheusConfig, startDemoProcess, startPrometheus, tempDir, type Proc } from '../helpers/stack';
import { cli, pauseExperiment, startStack, waitFor, type Stack } from './exporter-helpers';

// Reports against real parts: the demo service (its backend is the fault's target), a real
// Prometheus scraping it every second, and an exporter that knows that Prometheus. Pausing the
// backend makes the demo answer 5xx, so the error-ratio SLI must rise during the chaos and come
// back afterwards, and the report must say so.

jest.setTimeout(300_000);

describeWithTools(['prometheus'], 'experiment report', () => {
  let demo: { proc: Proc; url: string };
  let prom: { proc: Proc; url: string };
  let s: Stack;
  let dir: string;
  const name = `report-${process.pid}`;

  beforeAll(async () => {
    dir = tempDir('report');
    demo = await startDemoProcess();
    const port = await freePort();
    prom = await startPrometheus(dir, rewritePrometheusConfig({ targets: { demo: new URL(demo.url).host }, dir }), port);
    s = await startStack({ prometheusUrl: prom.url });
  });
  afterAll(async () => {
    await s?.close();
    await prom?.proc.stop();
    await demo?.proc.stop();
    removeDir(dir);
  });

  it('shows the SLI rising during the chaos and the recovery time, as JSON, HTML and in the terminal', async () => {
    const backend = (await (await fetch(`${demo.url}/admin/backend`)).json()) as { pid: number };
    // a baseline with traffic and no errors first
    await waitFor('baseline samples in Prometheus', async () => {
      const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('count_over_time(demo_http_requests_total[15s])')}`);
      const b = (await r.json()) as { data: { result: { value: [number, string] }[] } };
      return b.data.result.some((x) => Number(x.value[1]) >= 8);
    }, 90_000);
    const exp = pauseExperiment(name, [backend.pid], '8s', { report: { baseline: '10s', after: '30s' } });
    const created = await s.api('POST', '/api/v1/experiments', exp);
    expect(created.status).toBe(201);
    await waitFor('Finished', async () => (await s.api('GET', `/api/v1/experiments/default/${name}`)).body?.status?.phase === 'Finished', 120_000);

    const report = await waitFor('error ratio back to baseline in the report', async () => {
      const r = await s.api('GET', `/api/v1/experiments/default/${name}/report`);
      const errors = r.body.slis.find((x: { name: string }) => x.name === 'error ratio');
      return errors?.recoverySeconds !== null && errors?.after.samples > 3 ? r.body : undefined;
    }, 120_000);
    const errors = report.slis.find((x: { name: string }) => x.name === 'error ratio');
    expect(report.outcome).toBe('Finished');
    expect(report.targets).toEqual([expect.objectContaining({ phase: 'Recovered' })]);
    expect(report.timeline.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['created', 'injected', 'recovered', 'finished']));
    expect(errors.baseline.mean).toBeLessThan(0.05);
    // the 30 s rate window smooths an 8 s outage, so the peak is well above the baseline but not 100 %
    expect(errors.during.max).toBeGreaterThan(errors.baseline.mean + 0.05);
    expect(errors.recoverySeconds).toBeGreaterThanOrEqual(0);
    expect(report.slis.map((x: { name: string }) => x.name)).toEqual(['error ratio', 'p99 latency']);

    const html = await fetch(`${s.url}/api/v1/experiments/default/${name}/report?format=html`);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    const page = await html.text();
    expect(page).toContain('<svg');
    expect(page).toContain(`default/${name}`);

    const file = path.join(dir, 'report.html');
    const term = await cli(['report', name, '--html', file], { FAULTLINE_SERVER: s.url });
    expect(term.code).toBe(0);
    expect(term.stdout).toContain('IMPACT');
    expect(term.stdout).toMatch(/error ratio\n\s+baseline [0-9.]+%\s+during [0-9.]+%/);
  });

  it('answers 404 for an unknown experiment and 400 naming a bad format', async () => {
    expect((await s.api('GET', '/api/v1/experiments/default/nope/report')).status).toBe(404);
    const bad = await s.api('GET', `/api/v1/experiments/default/${name}/report?format=pdf`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ field: '/query/format', reason: 'must be one of "json", "html"' }]);
  });

  it('refuses a report spec with bad values at create, naming the field', async () => {
    const r = await s.api('POST', '/api/v1/experiments', pauseExperiment(`bad-report-${process.pid}`, [1], '5s', { report: { baseline: 'soon', slis: [{ name: 'x' }] } }));
    expect(r.status).toBe(400);
    const fields = r.body.error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['/spec/report/baseline', '/spec/report/slis/0/expr']));
  });
});
