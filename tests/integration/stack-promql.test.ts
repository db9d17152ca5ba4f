import { existsSync } from 'node:fs';
import path from 'node:path';
import { describeWithTools } from '../helpers/require-tool';
import {
  REPO,
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

const HAS_EXPORTER = existsSync(path.join(REPO, 'cli', 'commands', 'start.ts'));
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
  let dir: string;
  let promUrl: string;

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
    const demo = await startDemoProcess(['--load', '30']);
    procs.push(demo.proc);
    const targets: Record<string, string> = { demo: new URL(demo.url).host };
    if (HAS_EXPORTER) {
      const exporter = await startExporterProcess(path.join(dir, 'exporter'), `prometheus:viewer:${VIEWER},test:operator:${OPERATOR}`, VIEWER);
      procs.push(exporter.proc);
      targets['faultline-exporter'] = new URL(exporter.url).host;
    }
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
    await Promise.all(procs.map((p) => p.stop()));
    removeDir(dir);
  });

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
    const r = await query('up{job="demo", service="demo"}');
    expect(r.data!.result).toEqual([expect.objectContaining({ value: [expect.any(Number), '1'] })]);
  });

  (HAS_EXPORTER ? it : it.skip)('scrapes the exporter with the viewer token from the provisioned credentials_file', async () => {
    await waitFor('exporter scraped', async () => {
      const up = await query('up{job="faultline-exporter"} == 1');
      const daemon = await query('faultline_daemon_up');
      return up.data!.result.length === 1 && daemon.data!.result.length > 0;
    }, 60_000, 500);
  }, 90_000);
});
