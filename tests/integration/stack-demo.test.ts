import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { parseDemoConfig } from '../../demo/config';
import { startDemo, type RunningDemo } from '../../demo/index';
import { FAULTLINE, Proc, startDemoProcess, waitFor } from '../helpers/stack';

// `faultline demo` as a user runs it: a real process on loopback ports, its metrics, its admin
// settings (bad input refused, nothing changed), its backend over TCP failing and timing out,
// and its load generator staying within its concurrency bound when the service is slow.

type Demo = Awaited<ReturnType<typeof startDemoProcess>>;

/** Value of one sample in Prometheus text format (sum over matching lines), or 0. */
async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function put(url: string, body: string): Promise<{ status: number; json: any }> {
  const r = await fetch(`${url}/admin/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
  return { status: r.status, json: await r.json() };
}

describe('faultline demo', () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemoProcess(['--load', '30']);
  }, 90_000);
  afterAll(async () => {
    await demo?.proc.stop();
  });

  it('serves its API and counts requests by route and code, with latency histograms', async () => {
    const work = await fetch(`${demo.url}/api/work`);
    expect(work.status).toBe(200);
    expect((await work.json()).ok).toBe(true);
    const checkout = await fetch(`${demo.url}/api/checkout`);
    expect(checkout.status).toBe(200);
    expect(typeof (await checkout.json()).stock).toBe('number');
    // The load generator alone drives both routes.
    await waitFor('load on both routes', async () =>
      (await metric(demo.url, 'demo_http_requests_total', { route: '/api/work', code: '200' })) > 20 &&
      (await metric(demo.url, 'demo_http_requests_total', { route: '/api/checkout', code: '200' })) > 20, 60_000);
    expect(await metric(demo.url, 'demo_http_request_duration_seconds_count', { route: '/api/work' })).toBeGreaterThan(20);
    expect(await metric(demo.url, 'demo_backend_request_duration_seconds_count', { result: 'ok' })).toBeGreaterThan(20);
    expect(await metric(demo.url, 'demo_load_requests_total', { result: 'ok' })).toBeGreaterThan(20);
    expect(await metric(demo.url, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  }, 90_000);

  it.each([
    ['an unknown field', '{"errorRate": 0.5}', '/errorRate'],
    ['a ratio above 1', '{"errorRatio": 1.5}', '/errorRatio'],
    ['a ratio as a string', '{"errorRatio": "0.5"}', '/errorRatio'],
    ['a bad duration', '{"latency": "5 seconds"}', '/latency'],
    ['a latency past 60s', '{"latency": "2m"}', '/latency'],
    ['malformed JSON', '{"errorRatio": ', '/'],
    ['an array', '[1]', '/'],
  ])('refuses %s in PUT /admin/settings with a 400 naming the field, and changes nothing', async (_what, body, field) => {
    const before = await (await fetch(`${demo.url}/admin/settings`)).json();
    const r = await put(demo.url, body);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('invalid_input');
    expect(r.json.error.details.map((d: any) => d.field)).toContain(field);
    expect(await (await fetch(`${demo.url}/admin/settings`)).json()).toEqual(before);
  });

  it('fails on purpose when told to, visible in its metrics, and recovers when told to stop', async () => {
    const r = await put(demo.url, '{"errorRatio": 1}');
    expect(r).toEqual({ status: 200, json: { errorRatio: 1, latency: '0s' } });
    try {
      const failed = await fetch(`${demo.url}/api/work`);
      expect(failed.status).toBe(500);
      expect((await failed.json()).error.code).toBe('injected');
      expect(await metric(demo.url, 'demo_settings_error_ratio')).toBe(1);
      await waitFor('injected errors counted', async () => (await metric(demo.url, 'demo_http_errors_total', { reason: 'injected' })) > 10, 30_000);
    } finally {
      expect((await put(demo.url, '{"errorRatio": 0}')).status).toBe(200);
    }
    expect((await fetch(`${demo.url}/api/work`)).status).toBe(200);
  }, 60_000);

  it('runs its backend as a process of its own: paused → 504, killed → 502, then restarted', async () => {
    const info = await (await fetch(`${demo.url}/admin/backend`)).json();
    expect(info).toMatchObject({ url: demo.backendUrl, builtIn: true, up: true, restarts: 0, pid: expect.any(Number) });
    expect(info.pid).not.toBe(demo.proc.child.pid);
    // What process-pause and process-kill do to it.
    process.kill(info.pid, 'SIGSTOP');
    try {
      const paused = await fetch(`${demo.url}/api/checkout`);
      expect(paused.status).toBe(504);
      expect((await fetch(`${demo.url}/api/work`)).status).toBe(200);
    } finally {
      process.kill(info.pid, 'SIGCONT');
    }
    expect((await fetch(`${demo.url}/api/checkout`)).status).toBe(200);
    process.kill(info.pid, 'SIGKILL');
    await waitFor('backend seen down', async () => (await fetch(`${demo.url}/api/checkout`)).status === 502, 10_000, 50);
    // The refused connection (502) can be seen before node delivers the child's exit event; the gauge
    // follows that event within milliseconds, well before the 2 s restart.
    await waitFor('demo_backend_up 0', async () => (await metric(demo.url, 'demo_backend_up')) === 0, 1500, 20);
    const after = await waitFor('backend restarted', async () => {
      const b = await (await fetch(`${demo.url}/admin/backend`)).json();
      return b.up && b.restarts === 1 ? b : undefined;
    }, 30_000);
    expect(after.pid).not.toBe(info.pid);
    expect(after.url).toBe(info.url);
    expect((await fetch(`${demo.url}/api/checkout`)).status).toBe(200);
    expect(await metric(demo.url, 'demo_backend_restarts')).toBe(1);
  }, 60_000);

  it('answers 404 with an error body for unknown routes', async () => {
    const r = await fetch(`${demo.url}/nope`);
    expect(r.status).toBe(404);
    expect((await r.json()).error.code).toBe('not_found');
  });
});

// These run the demo in this process (startDemo, what the CLI calls): the same sockets, backend
// process and load generator, without paying a CLI start-up each.
describe('the demo with a bad backend or a slow service', () => {
  let silent: http.Server;
  const procs: Proc[] = [];
  const demos: RunningDemo[] = [];
  const inProcess = async (flags: Record<string, unknown>) => {
    const d = await startDemo(parseDemoConfig({ listen: '127.0.0.1:0', backendListen: '127.0.0.1:0', ...flags }), pino({ level: 'silent' }));
    demos.push(d);
    return d;
  };
  beforeAll(async () => {
    // A backend that accepts connections and never answers: what a partitioned or paused backend looks like.
    silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    await Promise.all([...procs.map((p) => p.stop()), ...demos.map((d) => d.close())]);
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  });

  it('answers 504 when the backend does not answer in time', async () => {
    const port = (silent.address() as AddressInfo).port;
    const d = await inProcess({ load: 0, backend: `http://127.0.0.1:${port}`, backendTimeout: '300ms' });
    const r = await fetch(`${d.url}/api/checkout`);
    expect(r.status).toBe(504);
    expect((await r.json()).error.code).toBe('backend_timeout');
    expect(await metric(d.url, 'demo_http_errors_total', { route: '/api/checkout', reason: 'backend_timeout' })).toBe(1);
    expect(await metric(d.url, 'demo_backend_request_duration_seconds_count', { result: 'timeout' })).toBe(1);
  }, 90_000);

  it('answers 502 when the backend is unreachable', async () => {
    // A port that was just free: nothing listens there.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const d = await inProcess({ load: 0, backend: `http://127.0.0.1:${port}` });
    const r = await fetch(`${d.url}/api/checkout`);
    expect(r.status).toBe(502);
    expect((await r.json()).error.code).toBe('backend_unreachable');
  }, 90_000);

  it('leaves no backend process behind, even when the demo is killed with SIGKILL', async () => {
    const d = await startDemoProcess(['--load', '0']);
    procs.push(d.proc);
    const { pid } = await (await fetch(`${d.url}/admin/backend`)).json();
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    d.proc.child.kill('SIGKILL');
    await waitFor('backend gone', () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), 15_000);
  }, 60_000);

  it('keeps the load generator within its concurrency bound when the service is slow', async () => {
    const d = await inProcess({ load: 50, concurrency: 2, latency: '1s' });
    await waitFor('skipped load requests', async () => (await metric(d.url, 'demo_load_requests_total', { result: 'skipped' })) > 20, 30_000);
    for (let i = 0; i < 5; i++) {
      expect(await metric(d.url, 'demo_load_in_flight')).toBeLessThanOrEqual(2);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 90_000);
});

describe('faultline demo flags', () => {
  // One start-up per kind of check: schema errors are all reported at once, the port and
  // duration range checks run after the schema.
  const runs: string[][] = [
    ['--load', 'lots', '--error-ratio', '2', '--listen', 'localhost', '--backend', 'ftp://x', '--concurrency', '0', '--latency', '5 seconds'],
    ['--load', '5000', '--listen', '127.0.0.1:70000'],
    ['--backend-timeout', '0s'],
    ['--listen', '127.0.0.1:70000'],
  ];
  const results: { code: number | null; output: string }[] = [];
  beforeAll(async () => {
    await Promise.all(
      runs.map(async (args, i) => {
        const p = new Proc('faultline demo (bad flags)', process.execPath, [FAULTLINE, 'demo', '--listen', '127.0.0.1:0', '--backend-listen', '127.0.0.1:0', ...args]);
        const timer = setTimeout(() => void p.stop(), 60_000);
        const code = await p.exitCode();
        clearTimeout(timer);
        results[i] = { code, output: p.output() };
      }),
    );
  }, 90_000);

  it.each([
    [0, '--load: must be number'],
    [0, '--error-ratio: must be <= 1'],
    [0, '--listen: must be HOST:PORT'],
    [0, '--backend: must be an http:// or https:// URL'],
    [0, '--concurrency: must be >= 1'],
    [0, '--latency: must be a duration'],
    [1, '--load: must be <= 1000'],
    [2, '--backend-timeout: must be between 1ms and 60s'],
    [3, '--listen: port must be at most 65535'],
  ])('run %i says "%s", exits non-zero and never listens', (i, message) => {
    expect(results[i].output).toContain(message);
    expect(results[i].code).not.toBe(0);
    expect(results[i].output).not.toContain('demo listening');
  });

  it('reports schema errors before the port range', () => {
    expect(results[1].output).not.toContain('--listen');
  });
});
