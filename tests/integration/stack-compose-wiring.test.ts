import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { describeWithTools } from '../helpers/require-tool';
import {
  FAULTLINE,
  Proc,
  REPO,
  freePort,
  removeDir,
  rewritePrometheusConfig,
  startPrometheus,
  tempDir,
  waitFor,
} from '../helpers/stack';

// docker-compose.yaml's wiring, run without Docker: the daemon, exporter and demo services are
// started as the processes their resolved `command` and `environment` describe (from
// `docker-compose config`, so the ${VAR:-default} tokens are what compose would pass), with the
// compose host names mapped to loopback ports. Prometheus gets its token files the way the
// compose entrypoint writes them. Then: every health check command passes, Prometheus scrapes
// all three with those tokens, the exporter drives the daemon with the daemon token, and the
// Grafana data source token may launch and stop experiments.

const run = promisify(execFile);
const SERVICES = ['daemon', 'exporter', 'demo'] as const;
const LISTEN_PORT: Record<(typeof SERVICES)[number], number> = { daemon: 9471, exporter: 9470, demo: 9480 };

describeWithTools(['docker-compose', 'prometheus'], 'docker-compose wiring without Docker', () => {
  const procs: Proc[] = [];
  let dir: string;
  let compose: any;
  const ports = {} as Record<(typeof SERVICES)[number] | 'prometheus', number>;
  let promUrl: string;

  /** Compose host names and container paths → this machine. */
  function localize(text: string): string {
    let t = text;
    for (const s of SERVICES) {
      t = t.replaceAll(`0.0.0.0:${LISTEN_PORT[s]}`, `127.0.0.1:${ports[s]}`).replaceAll(`${s}:${LISTEN_PORT[s]}`, `127.0.0.1:${ports[s]}`);
    }
    return t
      .replaceAll('prometheus:9090', `127.0.0.1:${ports.prometheus}`)
      .replaceAll('127.0.0.1:9481', '127.0.0.1:0')
      .replace(/^\/data$/, path.join(dir, 'exporter-data'))
      .replace(/^\/state$/, path.join(dir, 'daemon-state'));
  }

  function startService(name: (typeof SERVICES)[number]): Proc {
    const svc = compose.services[name];
    const env = Object.fromEntries(Object.entries<string>(svc.environment ?? {}).map(([k, v]) => [k, localize(String(v))]));
    const args = (svc.command as string[]).map(localize);
    const p = new Proc(`compose ${name}`, process.execPath, [FAULTLINE, ...args], { env });
    procs.push(p);
    return p;
  }

  /** The service's own health check command (node -e ...), run here against the local port. */
  async function healthcheck(name: (typeof SERVICES)[number]): Promise<boolean> {
    const [kind, cmd, ...args] = compose.services[name].healthcheck.test as string[];
    expect(kind).toBe('CMD');
    expect(cmd).toBe('node');
    try {
      // Inside its container a service checks itself on 127.0.0.1 and its compose port.
      const local = args.map((a) => a.replaceAll(`127.0.0.1:${LISTEN_PORT[name]}`, `127.0.0.1:${ports[name]}`));
      await run(process.execPath, local, { timeout: 20_000 });
      return true;
    } catch {
      return false;
    }
  }

  beforeAll(async () => {
    dir = tempDir('faultline-compose-wiring');
    const { stdout } = await run('docker-compose', ['-f', path.join(REPO, 'docker-compose.yaml'), 'config'], { cwd: REPO, timeout: 60_000 });
    compose = YAML.parse(stdout);
    for (const s of [...SERVICES, 'prometheus'] as const) ports[s] = await freePort();

    startService('daemon');
    await waitFor('daemon healthy', () => healthcheck('daemon'), 90_000, 500);
    startService('exporter');
    startService('demo');
    await waitFor('exporter healthy', () => healthcheck('exporter'), 90_000, 500);
    await waitFor('demo healthy', () => healthcheck('demo'), 90_000, 500);

    // Token files as the prometheus entrypoint writes them: printf %s "$$VAR" > /prometheus/secrets/FILE
    const entry = (compose.services.prometheus.entrypoint as string[]).join(' ');
    const credentials: Record<string, string> = {};
    for (const m of entry.matchAll(/printf %s "\$\$([A-Z_]+)" > \/prometheus\/secrets\/([a-z-]+)/g)) {
      credentials[m[2]] = String(compose.services.prometheus.environment[m[1]]);
    }
    expect(Object.keys(credentials).sort()).toEqual(['daemon-token', 'exporter-token']);
    const config = rewritePrometheusConfig({
      dir,
      interval: '1s',
      targets: {
        'faultline-exporter': `127.0.0.1:${ports.exporter}`,
        'faultline-daemon': `127.0.0.1:${ports.daemon}`,
        demo: `127.0.0.1:${ports.demo}`,
      },
      credentials,
    });
    const prom = await startPrometheus(path.join(dir, 'prom'), config, ports.prometheus);
    procs.push(prom.proc);
    promUrl = prom.url;
  }, 240_000);

  afterAll(async () => {
    const admin = compose?.services.grafana.environment.FAULTLINE_GRAFANA_TOKEN;
    if (ports.exporter && admin) {
      await fetch(`http://127.0.0.1:${ports.exporter}/api/v1/stop-all`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } }).catch(() => undefined);
    }
    // The daemon last: it reverts whatever is still injected when it stops.
    const daemon = procs.find((p) => p.name === 'compose daemon');
    await Promise.all(procs.filter((p) => p !== daemon).map((p) => p.stop()));
    await daemon?.stop(15_000);
    removeDir(dir);
  }, 60_000);

  async function query(expr: string): Promise<any[]> {
    const r = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await r.json()) as { status: string; data: { result: any[] } };
    return body.status === 'success' ? body.data.result : [];
  }

  it('scrapes the exporter, the daemon and the demo with the tokens compose hands to Prometheus', async () => {
    await waitFor('all three scraped', async () => (await query('max_over_time(up{job=~"faultline-exporter|faultline-daemon|demo"}[1m]) == 1')).length === 3, 90_000, 500);
  }, 120_000);

  it('lets the exporter reach the daemon with the token in its --daemon flag', async () => {
    await waitFor('faultline_daemon_up == 1', async () => (await query('faultline_daemon_up == 1')).length === 1, 90_000, 500);
  }, 120_000);

  it("gives Grafana's data source token the operator role: it launches and stops; the daemon's metrics show the fault", async () => {
    const token = String(compose.services.grafana.environment.FAULTLINE_GRAFANA_TOKEN);
    const exporter = `http://127.0.0.1:${ports.exporter}/api/v1`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const demo = `http://127.0.0.1:${ports.demo}`;
    const { pid } = (await (await fetch(`${demo}/admin/backend`)).json()) as { pid: number };
    const name = `compose-wiring-${process.pid}`;
    const created = await fetch(`${exporter}/experiments`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        metadata: { name, namespace: 'default' },
        spec: { fault: { kind: 'process-pause', params: {} }, targets: { selector: { pids: [pid] }, mode: 'all' }, duration: '2m' },
      }),
    });
    expect(created.status).toBe(201);
    const phase = async () => ((await (await fetch(`${exporter}/experiments/default/${name}`, { headers })).json()) as any).status?.phase;
    try {
      await waitFor('Running', async () => (await phase()) === 'Running', 60_000);
      // The overview's "Faults active on daemons" panel, through the daemon's token-protected /metrics.
      await waitFor('daemon reports the fault', async () => (await query('sum by (kind) (faultline_daemon_faults_active{kind="process-pause"}) == 1')).length === 1, 60_000, 500);
    } finally {
      const stopped = await fetch(`${exporter}/experiments/default/${name}/stop`, { method: 'POST', headers });
      expect(stopped.status).toBeLessThan(300);
    }
    await waitFor('stopped', async () => ['Finished', 'Aborted'].includes(await phase()), 60_000);
    await waitFor('checkout answers again', async () => (await fetch(`${demo}/api/checkout`)).status === 200, 30_000);
  }, 180_000);
});
