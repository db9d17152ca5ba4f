import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startDaemon } from '../daemon/index';
import { startExporter, type RunningExporter } from '../exporter/index';
import { freePort } from '../tests/helpers/http';
import { MetricSource, pollUntil, PromStack } from '../tests/helpers/prom-stack';
import { printTable, summarize } from './stats';

// Alert → recovered, with real parts (a real daemon pausing real `sleep`s, the real exporter):
//  1. webhook → the one guarded experiment's target recovered (/proc state leaves T), ≥50 rounds;
//  2. webhook → every target of 100 running experiments recovered (goal p99 < 100 ms);
//  3. metric breach → recovered through real Prometheus (1 s scrape/eval) + Alertmanager
//     (group_wait 0s), split into scrape, rule, Alertmanager and Faultline parts (goal < 3 s).

const ROUNDS_SINGLE = Number(process.env.BENCH_GUARDS_ROUNDS ?? 50);
const FLEET = Number(process.env.BENCH_GUARDS_FLEET ?? 100);
const FLEET_ROUNDS = Number(process.env.BENCH_GUARDS_FLEET_ROUNDS ?? 10);
const E2E_ROUNDS = Number(process.env.BENCH_GUARDS_E2E_ROUNDS ?? 5);

function stopped(pid: number): boolean {
  const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return t[t.lastIndexOf(')') + 2] === 'T';
}

// Watches /proc from a process of its own, every millisecond, and prints the monotonic clock (ns, the
// same CLOCK_MONOTONIC as process.hrtime here) once no pid is stopped any more. Polling from this
// process would compete with the exporter and daemon for the one event loop being measured.
const WATCHER = `
const fs = require('fs');
const pids = process.argv.slice(1).map(Number);
const stopped = (p) => { try { const t = fs.readFileSync('/proc/' + p + '/stat', 'utf8'); return t[t.lastIndexOf(')') + 2] === 'T'; } catch { return false; } };
const left = new Set(pids);
const deadline = Date.now() + 30000;
let first = true;
const tick = () => {
  for (const p of left) if (!stopped(p)) left.delete(p);
  if (left.size === 0) { process.stdout.write('done ' + process.hrtime.bigint() + '\\n'); process.exit(0); }
  if (first) { first = false; process.stdout.write('ready\\n'); }
  if (Date.now() > deadline) { process.stdout.write('timeout ' + left.size + '\\n'); process.exit(1); }
  setTimeout(tick, 1);
};
tick();
`;

/** Starts a watcher for `pids`; `done` resolves with performance.now() at the moment the last one left T. */
async function whenAllRecovered(pids: number[]): Promise<{ done: Promise<number> }> {
  const child = spawn(process.execPath, ['-e', WATCHER, ...pids.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const lines = new Promise<string[]>((resolve) => child.on('close', () => resolve(out.trim().split('\n'))));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^(ready|done)/m.test(out)) resolve();
    });
    child.once('exit', () => reject(new Error(`watcher exited early: ${out}`)));
  });
  const done = lines.then((l) => {
    const last = l[l.length - 1] ?? '';
    if (!last.startsWith('done ')) throw new Error(`targets still stopped after 30 s (${last})`);
    // monotonic ns → this process's performance.now() (both count from the same clock)
    return performance.now() - Number(process.hrtime.bigint() - BigInt(last.slice(5))) / 1e6;
  });
  return { done };
}

function amPayload(labels: Record<string, string>, status: 'firing' | 'resolved', fingerprint: string) {
  return {
    version: '4', groupKey: `{}:{alertname="${labels.alertname}"}`, status, receiver: 'faultline', groupLabels: {}, commonLabels: labels, commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts: [{ status, labels, annotations: {}, startsAt: new Date().toISOString(), endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : new Date().toISOString(), generatorURL: 'http://127.0.0.1:9090/graph', fingerprint }],
  };
}

export async function benchGuards(): Promise<unknown> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `fl-bench-guards-${process.pid}-`));
  const procs: ChildProcess[] = [];
  const sleeper = () => {
    const c = spawn('sleep', ['3600'], { stdio: 'ignore' });
    procs.push(c);
    return c.pid!;
  };
  const daemon = await startDaemon({ listen: '127.0.0.1:0', stateDir: path.join(dir, 'daemon'), logger: pino({ level: 'silent' }) });
  const metrics = new MetricSource();
  const stack = new PromStack();
  let ex: RunningExporter | undefined;
  let seq = 0;
  try {
    const promPort = await freePort();
    ex = await startExporter({
      listen: '127.0.0.1:0', dataDir: path.join(dir, 'x'), daemons: [{ url: daemon.url, name: 'local' }], logger: pino({ level: 'silent' }),
      prometheusUrl: `http://127.0.0.1:${promPort}`,
    });
    const url = ex.url;
    const post = async (p: string, body: unknown) => {
      const r = await fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
      return r.json();
    };
    const phase = async (name: string) => ((await (await fetch(`${url}/api/v1/experiments/default/${name}`)).json()) as any).status.phase as string;
    const launch = async (alertname: string, n: number) => {
      const pids: number[] = [];
      const names: string[] = [];
      for (let i = 0; i < n; i++) {
        const pid = sleeper();
        const name = `bg-${process.pid}-${++seq}`;
        await post('/api/v1/experiments', {
          metadata: { name },
          spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids: [pid], daemons: ['local'] }, mode: 'all' }, duration: '30m', guards: { alerts: [`alertname="${alertname}"`] } },
        });
        pids.push(pid);
        names.push(name);
      }
      await pollUntil('all Running and paused', async () => (await Promise.all(names.map(phase))).every((p) => p === 'Running') && pids.every(stopped), 120_000, 50);
      return pids;
    };

    // 1. one experiment per webhook
    const single: number[] = [];
    const singleResponse: number[] = [];
    for (let i = 0; i < ROUNDS_SINGLE; i++) {
      const alertname = `BenchOne${i}`;
      const pids = await launch(alertname, 1);
      const { done } = await whenAllRecovered(pids);
      const t0 = performance.now();
      await post('/api/v1/alerts/alertmanager', amPayload({ alertname }, 'firing', `one${i}`));
      singleResponse.push(performance.now() - t0);
      single.push((await done) - t0);
      await post('/api/v1/alerts/alertmanager', amPayload({ alertname }, 'resolved', `one${i}`));
    }

    // 2. one webhook, FLEET experiments
    const fleet: number[] = [];
    for (let r = 0; r < FLEET_ROUNDS; r++) {
      const alertname = `BenchFleet${r}`;
      const pids = await launch(alertname, FLEET);
      const { done } = await whenAllRecovered(pids);
      const t0 = performance.now();
      await post('/api/v1/alerts/alertmanager', amPayload({ alertname }, 'firing', `fleet${r}`));
      fleet.push((await done) - t0);
      await post('/api/v1/alerts/alertmanager', amPayload({ alertname }, 'resolved', `fleet${r}`));
    }

    // 3. metric breach → recovered through Prometheus and Alertmanager. Alertmanager posts to a
    //    relay here that stamps the arrival and forwards to the exporter.
    const arrivals: number[] = [];
    const relay = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if ((JSON.parse(body.toString()) as { status: string }).status === 'firing') arrivals.push(performance.now());
        fetch(`${url}/api/v1/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
          .then(async (r) => res.writeHead(r.status).end(await r.text()))
          .catch(() => res.writeHead(502).end());
      });
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    metrics.set('bench_error_ratio', 0);
    await metrics.start();
    await stack.start({
      promPort,
      targets: [metrics.port],
      rules: [{ alert: 'BenchBreach', expr: 'bench_error_ratio > 0.5' }],
      receiver: { url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}/` },
    });
    const query = async (q: string) =>
      ((await (await fetch(`${stack.prometheusUrl}/api/v1/query?${new URLSearchParams({ query: q })}`)).json()) as any).data.result as { value: [number, string] }[];
    const promAlerts = async () =>
      (((await (await fetch(`${stack.prometheusUrl}/api/v1/alerts`)).json()) as any).data.alerts as { state: string; activeAt: string }[]).filter((a) => a.state === 'firing');
    await pollUntil('first scrape', async () => (await query('bench_error_ratio')).length > 0, 60_000);
    // Wall-clock ms on this host (Prometheus runs here too, so its timestamps share the clock).
    const wall = () => performance.timeOrigin + performance.now();
    const parts: { scrape: number; rule: number; alertmanager: number; faultline: number; total: number }[] = [];
    for (let r = 0; r < E2E_ROUNDS; r++) {
      const pids = await launch('BenchBreach', 1);
      const before = arrivals.length;
      const { done } = await whenAllRecovered(pids);
      const t0 = wall();
      metrics.set('bench_error_ratio', 1);
      const tDone = (await done) + performance.timeOrigin;
      await pollUntil('webhook seen', () => arrivals.length > before, 30_000, 5);
      const tAm = arrivals[before] + performance.timeOrigin;
      // scrape: the first sample with the new value, by its own timestamp; rule: the alert's activeAt.
      const samples = (await query('bench_error_ratio[1m]')) as unknown as { values: [number, string][] }[];
      const tScrape = samples[0].values.find(([ts, v]) => ts * 1000 >= t0 && v === '1')![0] * 1000;
      const tRule = Date.parse((await promAlerts())[0].activeAt);
      parts.push({ scrape: tScrape - t0, rule: tRule - tScrape, alertmanager: tAm - tRule, faultline: tDone - tAm, total: tDone - t0 });
      metrics.set('bench_error_ratio', 0);
      await pollUntil('rule resolved', async () => (await promAlerts()).length === 0, 60_000, 50);
      await pollUntil('Faultline saw it resolved', async () => ((await (await fetch(`${url}/api/v1/alerts`)).json()) as any).items.length === 0, 60_000, 50);
    }
    relay.close();

    const s1 = summarize(single);
    const s1r = summarize(singleResponse);
    const s2 = summarize(fleet);
    const col = (k: keyof (typeof parts)[number]) => summarize(parts.map((p) => p[k]));
    const rows = [
      { measure: `webhook → 1 target recovered (${ROUNDS_SINGLE} aborts)`, ...s1 },
      { measure: 'webhook → HTTP response (aborts done)', ...s1r },
      { measure: `webhook → ${FLEET} experiments recovered (goal p99 < 100 ms)`, ...s2 },
      { measure: 'breach → sample scraped (scrape interval 1s)', ...col('scrape') },
      { measure: 'scraped → alert activeAt (rule evaluation 1s)', ...col('rule') },
      { measure: 'activeAt → webhook at Faultline (Prometheus notifier + Alertmanager)', ...col('alertmanager') },
      { measure: 'webhook → recovered (Faultline)', ...col('faultline') },
      { measure: 'breach → recovered, end to end (goal < 3000 ms)', ...col('total') },
    ];
    printTable('guards: alert → recovered (ms)', rows);
    return { unit: 'ms', single: s1, singleResponse: s1r, fleet: { experiments: FLEET, ...s2 }, endToEnd: { scrape: col('scrape'), rule: col('rule'), alertmanager: col('alertmanager'), faultline: col('faultline'), total: col('total') } };
  } finally {
    await ex?.close({ recover: true }).catch(() => undefined);
    await daemon.shutdown({ recover: true }).catch(() => undefined);
    for (const c of procs) {
      try {
        process.kill(c.pid!, 'SIGCONT');
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    await stack.stop().catch(() => undefined);
    await metrics.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
