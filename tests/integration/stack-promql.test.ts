import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { request } from '../helpers/http';
import { describeWithTools } from '../helpers/require-tool';
import {
  collectPromExpressions,
  freePort,
  removeDir,
  rewritePrometheusConfig,
  startDemoProcess,
  startExporterProcess,
  startPrometheus,
  substituteGrafanaVariables,
  tempDir,
  waitFor,
  type Proc,
} from '../helpers/stack';

// Every PromQL expression the stack ships (dashboard panels and annotations, Prometheus rules,
// the Grafana alert rule) sent to a real Prometheus that scrapes a running demo and exporter
// with the provisioned prometheus.yml (ports rewritten): none may be a parse error, and the
// demo's panels must return series — a typo in a metric or label name shows up here.

const VIEWER = `prometheus-viewer-token-${process.pid}`;
const OPERATOR = `operator-token-${process.pid}-abcdef`;

interface QueryResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

describeWithTools(['prometheus'], 'PromQL of the stack against a real Prometheus', () => {
  const expressions = collectPromExpressions();
  const procs: Proc[] = [];
  const victims: ChildProcess[] = [];
  let dir: string;
  let promUrl: string;
  let exporterUrl = '';

  async function query(expr: string): Promise<QueryResult> {
    const r = await fetch(`${promUrl}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: substituteGrafanaVariables(expr) }),
    });
    return (await r.json()) as QueryResult;
  }

  beforeAll(async () => {
    dir = tempDir('faultline-promql');
    // 5% of requests fail on purpose, so the error panels have series to show.
    const demo = await startDemoProcess(['--load', '30', '--error-ratio', '0.05']);
    procs.push(demo.proc);
    const targets: Record<string, string> = { demo: new URL(demo.url).host };
    const exporter = await startExporterProcess(path.join(dir, 'exporter'), `prometheus:viewer:${VIEWER},test:operator:${OPERATOR}`, VIEWER);
    procs.push(exporter.proc);
    exporterUrl = exporter.url;
    targets['faultline-exporter'] = new URL(exporter.url).host;
    const port = await freePort();
    targets.prometheus = `127.0.0.1:${port}`;
    const prom = await startPrometheus(dir, rewritePrometheusConfig({ targets, dir, credentials: { 'exporter-token': VIEWER } }), port);
    procs.push(prom.proc);
    promUrl = prom.url;
    // Two scrapes of the demo under load: rate() has something to work on.
    await waitFor('demo request rate in Prometheus', async () => {
      const r = await query('sum(rate(demo_http_requests_total{route=~"/api/.*"}[20s])) > 0');
      return r.data && r.data.result.length > 0;
    }, 60_000, 500);
  }, 180_000);

  afterAll(async () => {
    if (exporterUrl) await request(exporterUrl, 'POST', '/api/v1/stop-all', undefined, { token: OPERATOR }).catch(() => undefined);
    await Promise.all(procs.map((p) => p.stop()));
    for (const v of victims) v.kill('SIGKILL');
    removeDir(dir);
  }, 30_000); // each process gets a 5 s SIGTERM grace

  it('finds the expressions of both dashboards and both rule files', () => {
    const where = expressions.map((e) => e.where).join('\n');
    for (const source of ['faultline-overview.json', 'demo-service.json', 'rules.yml', 'grafana rule']) expect(where).toContain(source);
    expect(expressions.length).toBeGreaterThan(20);
  });

  it('accepts every expression (no parse or evaluation error)', async () => {
    const failures: string[] = [];
    for (const { where, expr } of expressions) {
      const r = await query(expr);
      if (r.status !== 'success') failures.push(`${where}: ${r.error}\n  ${expr}`);
    }
    expect(failures).toEqual([]);
  }, 60_000);

  it("returns series for every demo panel and recording rule (metric and label names are the demo's)", async () => {
    const empty: string[] = [];
    let checked = 0;
    for (const { where, expr } of expressions) {
      const demoOnly = /demo_/.test(expr) && !/faultline_|ALERTS/.test(expr);
      const isAlert = /^rules\.yml (Demo|Faultline)[A-Z]/.test(where) || where.startsWith('grafana rule');
      if (!demoOnly || isAlert) continue;
      checked++;
      const r = await query(expr);
      if (!r.data || r.data.result.length === 0) empty.push(`${where}: ${expr}`);
    }
    expect(empty).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(10);
  }, 60_000);

  it('scrapes the demo job as provisioned (job="demo", service="demo") so rules and panels select it', async () => {
    // max over a minute: one scrape slower than the 1 s test timeout on a loaded machine is not the point here.
    const r = await query('max_over_time(up{job="demo", service="demo"}[1m])');
    expect(r.data!.result).toEqual([expect.objectContaining({ value: [expect.any(Number), '1'] })]);
  });

  it('scrapes the exporter with the viewer token from the provisioned credentials_file', async () => {
    await waitFor('exporter scraped', async () => {
      const up = await query('up{job="faultline-exporter"} == 1');
      const daemon = await query('faultline_daemon_up');
      return up.data!.result.length === 1 && daemon.data!.result.length > 0;
    }, 60_000, 500);
  }, 90_000);

  it("returns series for the overview's exporter panels once experiments ran, finished, aborted and run", async () => {
    // One experiment that ends (finished or aborted by stop-all), one aborted, one still running: every
    // overview metric then has series, so a wrong metric or label name shows as an empty panel.
    const api = (method: string, p: string, body?: unknown) => request(exporterUrl, method, `/api/v1${p}`, body, { token: OPERATOR });
    const pause = (name: string, duration: string) => {
      const child = spawn('sleep', ['300'], { stdio: 'ignore' });
      victims.push(child);
      return api('POST', '/experiments', {
        metadata: { name, namespace: 'default' },
        spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids: [child.pid] }, mode: 'all' }, duration },
      });
    };
    const tag = process.pid;
    const phaseOf = async (name: string) => (await api('GET', `/experiments/default/${name}`)).body.status?.phase;
    for (const [name, duration] of [[`finishes-${tag}`, '2s'], [`aborted-${tag}`, '5m']]) {
      const r = await pause(name, duration);
      expect({ name, status: r.status }).toEqual({ name, status: 201 });
    }
    await waitFor('aborted-* Running', async () => (await phaseOf(`aborted-${tag}`)) === 'Running', 60_000);
    // stop-all aborts (faultline_aborts_total{reason="stop-all"}); a plain stop would finish.
    expect((await api('POST', '/stop-all')).status).toBeLessThan(300);
    await waitFor('aborted-* Aborted', async () => (await phaseOf(`aborted-${tag}`)) === 'Aborted', 60_000);
    await waitFor('finishes-* Finished', async () => ['Finished', 'Aborted'].includes(await phaseOf(`finishes-${tag}`)), 60_000);
    const running = await pause(`running-${tag}`, '5m');
    expect(running.status).toBe(201);
    await waitFor('running-* Running', async () => (await phaseOf(`running-${tag}`)) === 'Running', 60_000);

    const exporterExprs = expressions.filter(
      ({ where, expr }) =>
        /faultline_/.test(expr) &&
        where.includes('faultline-overview.json') &&
        // The embedded daemon of `faultline start` has no port of its own for Prometheus to scrape.
        !expr.includes('faultline_daemon_faults_active'),
    );
    expect(exporterExprs.length).toBeGreaterThanOrEqual(8);
    let empty: string[] = [];
    await waitFor('every overview panel has series', async () => {
      empty = [];
      for (const { where, expr } of exporterExprs) {
        const r = await query(expr);
        if (!r.data || r.data.result.length === 0) empty.push(`${where}: ${expr}`);
      }
      return empty.length === 0;
    }, 60_000, 1000).catch(() => undefined);
    expect(empty).toEqual([]);
  }, 180_000);
});
