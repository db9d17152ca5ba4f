import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import { KubeClient } from '../exporter/targets/kubernetes/client';
import { resolvePods } from '../exporter/targets/kubernetes/resolve';
import type { SafetyPolicy } from '../exporter/targets/kubernetes/protected';
import { selectPods } from '../exporter/targets/kubernetes/select';
import { resolveContainer } from '../daemon/sys/containers';
import { startFakeApiServer } from '../tests/helpers/fake-kube-apiserver';
import { printTable, summarize } from './stats';

// Kubernetes mode, three costs:
//  1. the daemon resolving a container id by scanning /proc/*/cgroup (real /proc; a real process in a
//     cgroup the bench makes under /sys/fs/cgroup/pids, removed afterwards), with the host's process count;
//  2. selector + safety over 10 000 pods, pure (what the exporter does with a list it got);
//  3. resolving a selector through @kubernetes/client-node against the API-shaped HTTPS stand-in of
//     tests/helpers (1 000 pods in the namespace): HTTP, JSON decoding, selection.

const ROUNDS = Number(process.env.BENCH_K8S_ROUNDS ?? 50);

function podObj(i: number, ns: string): V1Pod {
  return {
    metadata: { name: `web-${i}`, namespace: ns, uid: `uid-${i}`, labels: { app: i % 2 ? 'web' : 'api', track: i % 10 ? 'stable' : 'canary' } },
    spec: { nodeName: `node-${i % 50}`, containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    status: { phase: 'Running', podIP: '10.0.0.1', containerStatuses: [{ name: 'app', containerID: `containerd://${i.toString(16).padStart(64, '0')}`, image: 'x', imageID: 'x', ready: true, restartCount: 0 }] },
  } as V1Pod;
}

async function timeIt(rounds: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

export async function benchKubernetes(): Promise<unknown> {
  const rows: Record<string, unknown>[] = [];
  const results: Record<string, unknown> = {};
  const processes = readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n)).length;

  // 1. container id → main pid, real /proc
  const id = randomBytes(32).toString('hex');
  const dir = `/sys/fs/cgroup/pids/kubepods/besteffort/podbench${process.pid}/cri-containerd-${id}.scope`;
  const made: string[] = [];
  let cgroupOk = true;
  try {
    for (const d of ['/sys/fs/cgroup/pids/kubepods', '/sys/fs/cgroup/pids/kubepods/besteffort', `/sys/fs/cgroup/pids/kubepods/besteffort/podbench${process.pid}`, dir]) {
      try {
        mkdirSync(d);
        made.push(d);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  } catch {
    cgroupOk = false;
  }
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  try {
    if (cgroupOk) {
      writeFileSync(`${dir}/cgroup.procs`, String(sleeper.pid));
      const found = summarize(await timeIt(ROUNDS, () => resolveContainer(`containerd://${id}`)));
      rows.push({ what: `container id → main pid (/proc scan, ${processes} processes)`, ...found });
      results.containerResolveMs = found;
    }
    const missing = summarize(await timeIt(ROUNDS, () => resolveContainer(`containerd://${randomBytes(32).toString('hex')}`).catch(() => undefined)));
    rows.push({ what: `unknown container id → 422 (full scan, ${processes} processes)`, ...missing });
    results.containerMissingMs = missing;
  } finally {
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    for (const d of made.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        /* busy or shared: left for the next run */
      }
    }
  }

  // 2. pure selection over 10 000 pods
  const policy: SafetyPolicy = { ownNamespace: 'faultline', protectedNamespaces: [], requireNamespaceOptIn: true };
  const namespaces = new Map<string, V1Namespace | undefined>([['shop', { metadata: { name: 'shop', annotations: { 'faultline.dev/enabled': 'true' } } }]]);
  const pods = Array.from({ length: 10_000 }, (_, i) => podObj(i, 'shop'));
  const selector = { labelSelectors: { app: 'web' }, expressionSelectors: [{ key: 'track', operator: 'NotIn' as const, values: ['canary'] }] };
  const pure = summarize(await timeIt(ROUNDS, () => selectPods(pods, selector, { experimentNamespace: 'shop', policy, namespaces })));
  rows.push({ what: 'selector + safety over 10 000 pods (pure)', ...pure });
  results.select10kMs = pure;

  // 3. through client-node and HTTPS
  const api = await startFakeApiServer();
  try {
    api.namespaces.set('shop', { metadata: { name: 'shop', annotations: { 'faultline.dev/enabled': 'true' } } });
    for (let i = 0; i < 1000; i++) api.addPod(podObj(i, 'shop') as never);
    const client = KubeClient.forServer(api.url, api.token, api.ca);
    const viaApi = summarize(await timeIt(Math.min(ROUNDS, 30), () => resolvePods(client, selector, { experimentNamespace: 'shop', policy, mode: 'all' })));
    rows.push({ what: 'resolve via API (1 000 pods listed, HTTPS stand-in)', ...viaApi });
    results.resolveViaApi1kMs = viaApi;
  } finally {
    await api.close();
  }

  printTable('kubernetes (ms)', rows);
  return results;
}
