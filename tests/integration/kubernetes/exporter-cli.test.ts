import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startDaemon, type RunningDaemon } from '../../../daemon/index';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/fake-kube-apiserver';
import { request } from '../../helpers/http';
import { namespace, OPTED_IN, pod } from '../../unit/kubernetes/fixtures';

// `faultline exporter --kubernetes` as a user runs it, as a real process, with a kubeconfig that points at
// the API-SHAPED STAND-IN of tests/helpers/fake-kube-apiserver.ts (no real API server can run here) and a
// real node daemon on 127.0.0.1 that the DaemonSet pod in the stand-in points to. A pod-failure experiment
// goes through the exporter's API, engine, the in-process pod daemon and the API server: the pods' images
// become the pause image, and after `stop` they are back.

const ROOT = path.resolve(__dirname, '../../..');
const T = 120_000;

let api: FakeApiServer;
let daemon: RunningDaemon;
let exporter: ChildProcess | undefined;
let url = '';
let stderr = '';
const dir = mkdtempSync(path.join(tmpdir(), `faultline-k8s-cli-${process.pid}-`));

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; exporter stderr: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function kubeconfig(): string {
  const file = path.join(dir, 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: stand-in`,
      '  cluster:',
      `    server: ${api.url}`,
      `    certificate-authority-data: ${Buffer.from(api.ca).toString('base64')}`,
      'users:',
      '- name: exporter',
      '  user:',
      `    token: ${api.token}`,
      'contexts:',
      '- name: c',
      '  context: {cluster: stand-in, user: exporter}',
      'current-context: c',
      '',
    ].join('\n'),
  );
  return file;
}

beforeAll(async () => {
  api = await startFakeApiServer();
  daemon = await startDaemon({ listen: '127.0.0.1:0', stateDir: path.join(dir, 'daemon'), logger: pino({ level: 'silent' }) });
  api.namespaces.set('shop', namespace('shop', OPTED_IN));
  api.namespaces.set('payments', namespace('payments'));
  api.addPod(pod({ name: 'web-1', labels: { app: 'web' }, node: 'node-local' }));
  api.addPod(pod({ name: 'web-2', labels: { app: 'web' }, node: 'node-local' }));
  api.addPod(pod({ ns: 'payments', name: 'ledger-1', labels: { app: 'web' }, node: 'node-local' }));
  const d = pod({ ns: 'faultline', name: 'faultline-daemon-local', labels: { 'app.kubernetes.io/name': 'faultline-daemon' }, node: 'node-local' });
  d.status!.podIP = '127.0.0.1';
  api.addPod(d);

  exporter = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/faultline.js'), 'exporter', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'), '--kubernetes', '--kubeconfig', kubeconfig(), '--log-level', 'warn'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FAULTLINE_KUBERNETES_NAMESPACE: 'faultline', FAULTLINE_KUBERNETES_DAEMON_PORT: String(new URL(daemon.url).port), POD_NAME: 'exporter-test' },
    },
  );
  exporter.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  let out = '';
  exporter.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  url = await waitFor(async () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 'the exporter to listen');
}, T);

afterAll(async () => {
  if (exporter && exporter.exitCode === null) {
    const exited = new Promise((r) => exporter!.once('exit', r));
    exporter.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 15_000)))]);
    clearTimeout(timer);
    if (exporter.exitCode === null) exporter.kill('SIGKILL');
  }
  await daemon?.shutdown({ recover: true });
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
}, T);

const json = (p: string, init?: { method: string; body: unknown }) => request(url, init?.method ?? 'GET', p, init?.body);
const image = (name: string) => (api.pods.get(`shop/${name}`)?.spec.containers as { image: string }[])[0].image;

describe('faultline exporter --kubernetes (real process, API-shaped stand-in)', () => {
  it('finds the node daemon of the DaemonSet and lists pods of opted-in namespaces as targets', async () => {
    const targets = await json('/api/v1/targets');
    expect(targets.status).toBe(200);
    expect(targets.body.items.map((t: { description: string }) => t.description).sort()).toEqual(['shop/web-1', 'shop/web-2']);
    const kinds = await json('/api/v1/kinds');
    expect(kinds.status).toBe(200);
    // the exporter talked to the real daemon it found through the DaemonSet pod on node-local
    const pd = kinds.body.items.find((k: { kind: string }) => k.kind === 'process-kill');
    expect(pd.support.map((s: { daemon: string }) => s.daemon)).toContain('node-local');
    // pod kinds are served by the exporter's own pod daemon, not by the node daemons
    const pf = kinds.body.items.find((k: { kind: string }) => k.kind === 'pod-failure');
    expect(pf.support).toEqual(
      expect.arrayContaining([{ daemon: 'kubernetes-api', supported: true }, expect.objectContaining({ daemon: 'node-local', supported: false })]),
    );
  }, T);

  it('a pod-failure experiment pauses the selected pods and stop restores them; Events on each pod', async () => {
    const created = await json('/api/v1/experiments', {
      method: 'POST',
      body: {
        apiVersion: 'faultline.dev/v1alpha1',
        kind: 'Experiment',
        metadata: { name: 'fail-web', namespace: 'shop' },
        spec: { fault: { kind: 'pod-failure', params: {} }, duration: '10m', targets: { selector: { labelSelectors: { app: 'web' } }, mode: 'all' } },
      },
    });
    expect(created.status).toBe(201);
    const running = await waitFor(async () => {
      const r = await json('/api/v1/experiments/shop/fail-web');
      return r.body.status?.phase === 'Running' ? r.body : undefined;
    }, 'the experiment to run');
    expect(running.status.targets.map((t: { description: string; phase: string }) => `${t.description} ${t.phase}`).sort()).toEqual(['shop/web-1 Injected', 'shop/web-2 Injected']);
    expect([image('web-1'), image('web-2')]).toEqual(['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10']);
    expect(api.pods.get('payments/ledger-1')?.spec.containers[0].image).toBe('registry.example/app:1.2.3'); // not opted in

    const stop = await json('/api/v1/experiments/shop/fail-web/stop', { method: 'POST', body: {} });
    expect(stop.status).toBeLessThan(300);
    await waitFor(async () => {
      const r = await json('/api/v1/experiments/shop/fail-web');
      return ['Finished', 'Aborted'].includes(r.body.status?.phase) ? true : undefined;
    }, 'the experiment to end');
    expect([image('web-1'), image('web-2')]).toEqual(['registry.example/app:1.2.3', 'registry.example/app:1.2.3']);
    expect(api.events.map((e) => `${e.involvedObject.name} ${e.reason}`).sort()).toEqual([
      'web-1 FaultInjected',
      'web-1 FaultRecovered',
      'web-2 FaultInjected',
      'web-2 FaultRecovered',
    ]);
  }, T);

  it('a selector that reaches only refused namespaces is a 4xx naming the selector; nothing patched', async () => {
    const patches = api.requests.filter((q) => q.method === 'PATCH').length;
    const r = await json('/api/v1/experiments', {
      method: 'POST',
      body: {
        metadata: { name: 'fail-ledger', namespace: 'shop' },
        spec: { fault: { kind: 'pod-kill', params: {} }, duration: '1m', targets: { selector: { namespaces: ['payments', 'kube-system'] }, mode: 'all' } },
      },
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(JSON.stringify(r.body)).toContain('/spec/targets/selector');
    expect(api.requests.filter((q) => q.method === 'PATCH' || q.method === 'DELETE').length).toBe(patches);
  }, T);

  it('bad --kubernetes-* values stop the command with the flag named', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/faultline.js'), 'exporter', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data2'), '--kubernetes', '--kubernetes-daemon-port', 'http'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout?.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).not.toBe(0);
    expect(err).toContain('--kubernetes-daemon-port');
  }, T);
});
