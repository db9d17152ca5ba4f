import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ApiError } from '../../../api/errors';
import processKillSpec from '../../../api/kinds/process-kill';
import { containerIdOfCgroupPath, normalizeContainerId, resolveContainer } from '../../../daemon/sys/containers';
import { readStat } from '../../../daemon/sys/proc';
import { resolveTarget } from '../../../daemon/resolve/targets';
import { Protection } from '../../../daemon/resolve/protect';
import { faultKind } from '../../../daemon/faults/index';
import { startDaemon } from '../../../daemon/index';
import { KubeClient } from '../../../exporter/targets/kubernetes/client';
import { kubernetesConfigFrom } from '../../../exporter/targets/kubernetes/config';
import { KubernetesMode } from '../../../exporter/targets/kubernetes/index';
import { startFakeApiServer } from '../../helpers/fake-kube-apiserver';
import { namespace, OPTED_IN, pod } from '../../unit/kubernetes/fixtures';
import { V1_ROOT, V2_ROOT, writable } from './cgroup-roots';

// Container pid resolution FOR REAL: the test makes the cgroups a kubelet would make (cgroup v1 under
// /sys/fs/cgroup/pids, and the v2 unified tree when it is mounted and writable), moves processes it
// spawned into them, and resolves them by container id the way the daemon does for a pod's
// status.containerStatuses[].containerID. Then the daemon's process-kill kind, given target
// {containerId}, kills the container's main process: the container-kill path on the node.
// Every cgroup the test made is removed in afterAll, processes first moved back to the root.
// The last test runs the whole container-kill path: exporter (Kubernetes mode, resolving the pod
// through the API-shaped stand-in of tests/helpers/fake-kube-apiserver.ts) → real daemon on this
// "node" → /proc scan → SIGKILL to the container's main process.

const hex64 = () => randomBytes(32).toString('hex');
const made: string[] = []; // cgroup dirs this test created, outermost first
const children: ChildProcess[] = [];

const haveV1 = writable(V1_ROOT);
const haveV2 = writable(V2_ROOT);

/** mkdir -p that remembers each directory it created, for cleanup. */
function makeCgroup(root: string, rel: string): string {
  let dir = root;
  for (const part of rel.split('/').filter(Boolean)) {
    dir = path.join(dir, part);
    if (!existsSync(dir)) {
      mkdirSync(dir);
      made.push(dir);
    }
  }
  return dir;
}

function moveInto(dir: string, pid: number): void {
  writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
}

function spawnSleeper(cmd = 'sleep', args = ['600']): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  children.push(child);
  return child;
}

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pids of the children of `pid` (from /proc/<pid>/task/<pid>/children). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  // Anything still inside (e.g. a grandchild) goes back to the root before rmdir.
  for (const dir of [...made].reverse()) {
    const root = dir.startsWith(V1_ROOT) ? V1_ROOT : V2_ROOT;
    try {
      for (const pid of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
        try {
          writeFileSync(path.join(root, 'cgroup.procs'), pid);
        } catch {
          /* gone */
        }
      }
    } catch {
      /* already removed */
    }
    for (let i = 0; i < 50 && existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch {
        await new Promise((r) => setTimeout(r, 100)); // an exiting task can keep it busy for a moment
      }
    }
  }
  const left = made.filter((d) => existsSync(d));
  if (left.length) throw new Error(`cgroups left behind: ${left.join(', ')}`);
});

describe('container ids from cgroup paths (every runtime style)', () => {
  const id = 'a'.repeat(40) + 'b'.repeat(24);
  it.each([
    [`/kubepods/besteffort/pod${randomUUID()}/${id}`, id],
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/cri-containerd-${id}.scope`, id],
    [`/kubepods.slice/kubepods-pod1.slice/docker-${id}.scope`, id],
    [`/kubepods.slice/kubepods-pod1.slice/crio-${id}.scope`, id],
    [`/kubepods.slice/kubepods-pod1.slice/crio-${id}.scope/container`, id],
    [`/machine.slice/libpod-${id}.scope`, id],
    [`/docker/${id}`, id],
    [`/kubepods.slice/kubepods-pod1.slice/crio-conmon-${id}.scope`, undefined],
    ['/user.slice/user-0.slice/session-1.scope', undefined],
    ['/', undefined],
  ])('%s', (p, want) => {
    expect(containerIdOfCgroupPath(p)).toBe(want);
  });

  it('normalizes runtime prefixes and refuses anything else', () => {
    expect(normalizeContainerId(`containerd://${id}`)).toBe(id);
    expect(normalizeContainerId(`cri-o://${id}`)).toBe(id);
    expect(normalizeContainerId(`docker://${id.slice(0, 12)}`)).toBe(id.slice(0, 12));
    for (const bad of ['', 'containerd://', 'abc', `${id}; rm -rf /`, id.toUpperCase(), `../../${id}`, id + '0']) {
      expect(() => normalizeContainerId(bad)).toThrow(/not a container id/);
    }
  });
});

const describeV1 = haveV1 ? describe : describe.skip;
const describeV2 = haveV2 ? describe : describe.skip;

describeV1('cgroup v1 (pids hierarchy), real processes', () => {
  const podUid = randomUUID();
  const systemdId = hex64();
  const cgroupfsId = hex64();
  let systemdDir: string;
  let mainPid: number;
  let childPid: number;

  beforeAll(async () => {
    // systemd-driver style, a container whose main process (timeout) has a child (sleep).
    systemdDir = makeCgroup(V1_ROOT, `kubepods/besteffort/pod${podUid}/cri-containerd-${systemdId}.scope`);
    const main = spawnSleeper('timeout', ['600', 'sleep', '600']);
    mainPid = main.pid as number;
    childPid = await waitFor(() => childrenOf(mainPid)[0], 'the child of timeout');
    moveInto(systemdDir, mainPid);
    moveInto(systemdDir, childPid);
  });

  it('finds the main process (parent outside the container), its child, cgroup and netns', async () => {
    const c = await resolveContainer(`containerd://${systemdId}`);
    expect(c.id).toBe(systemdId);
    expect(c.main.pid).toBe(mainPid);
    expect(c.main.comm).toBe('timeout');
    expect(c.processes.map((p) => p.pid).sort()).toEqual([mainPid, childPid].sort());
    expect(c.cgroup).toBe(`/kubepods/besteffort/pod${podUid}/cri-containerd-${systemdId}.scope`);
    expect(c.netnsPath).toBe(`/proc/${mainPid}/ns/net`);
  });

  it('resolves a short id (12 digits) and the bare cgroupfs style /kubepods/…/<id>', async () => {
    expect((await resolveContainer(systemdId.slice(0, 12))).main.pid).toBe(mainPid);
    const dir = makeCgroup(V1_ROOT, `kubepods/besteffort/pod${podUid}/${cgroupfsId}`);
    const s = spawnSleeper();
    moveInto(dir, s.pid as number);
    const c = await resolveContainer(`docker://${cgroupfsId}`);
    expect(c.main.pid).toBe(s.pid);
    expect(c.cgroup).toBe(`/kubepods/besteffort/pod${podUid}/${cgroupfsId}`);
  });

  it('says which field is wrong: unknown container → 422, malformed id → 400', async () => {
    const gone = hex64();
    await expect(resolveContainer(`containerd://${gone}`)).rejects.toMatchObject({
      status: 422,
      details: [{ field: '/target/containerId', reason: expect.stringContaining('no process on this node') }],
    });
    await expect(resolveContainer('containerd://xyz')).rejects.toBeInstanceOf(ApiError);
    await expect(resolveContainer('containerd://xyz')).rejects.toMatchObject({ status: 400 });
  });

  it('the daemon resolver takes {containerId}; process-kill (container-kill on the node) kills the main process only', async () => {
    const kind = faultKind('process-kill');
    expect(kind).toBeDefined();
    const target = await resolveTarget({ containerId: `containerd://${systemdId}` }, processKillSpec, new Protection());
    expect(target.processes.map((p) => p.pid)).toEqual([mainPid]);
    const startTime = (await readStat(mainPid))?.startTime;
    expect(target.processes[0].startTime).toBe(startTime);
    expect(target.cgroup).toBe(`/kubepods/besteffort/pod${podUid}/cri-containerd-${systemdId}.scope`);
    const ctx = {
      id: `ck-${process.pid}`,
      params: { signal: 'SIGKILL' },
      target,
      log: { info() {}, warn() {}, error() {}, debug() {} },
      save: async () => {},
      signal: new AbortController().signal,
    };
    await kind!.inject(ctx as never);
    await waitFor(async () => ((await readStat(mainPid)) === undefined || (await readStat(mainPid))?.state === 'Z' ? true : undefined), 'the main process to die');
    // The child was not signalled by us (timeout forwards nothing on SIGKILL): it is still alive.
    expect((await readStat(childPid))?.state).toMatch(/[SR]/);
    process.kill(childPid, 'SIGKILL');
  });
});

describeV1('container-kill end to end: exporter → daemon on the pod\'s node → the container\'s main process', () => {
  it('kills the main process of the selected pod\'s container and records Events', async () => {
    const id = hex64();
    const dir = makeCgroup(V1_ROOT, `kubepods/burstable/pod${randomUUID()}/cri-containerd-${id}.scope`);
    const victim = spawnSleeper();
    const bystander = spawnSleeper(); // same name, not in the container: must survive
    moveInto(dir, victim.pid as number);
    const died = new Promise<NodeJS.Signals | null>((r) => victim.once('exit', (_c, sig) => r(sig)));

    const stateDir = mkdtempSync(path.join(tmpdir(), `faultline-k8s-daemon-${process.pid}-`));
    const daemon = await startDaemon({ listen: '127.0.0.1:0', stateDir, logger: pino({ level: 'silent' }) });
    const api = await startFakeApiServer();
    try {
      api.namespaces.set('shop', namespace('shop', OPTED_IN));
      const p = pod({ name: 'victim-1', labels: { app: 'victim' }, node: 'node-local' });
      p.status!.containerStatuses![0].containerID = `containerd://${id}`;
      api.addPod(p);
      const d = pod({ ns: 'faultline', name: 'faultline-daemon-local', labels: { 'app.kubernetes.io/name': 'faultline-daemon' }, node: 'node-local' });
      d.status!.podIP = '127.0.0.1';
      api.addPod(d);

      const port = Number(new URL(daemon.url).port);
      const cfg = kubernetesConfigFrom({ kubernetes: true, kubernetesNamespace: 'faultline', kubernetesDaemonPort: String(port) }, {});
      const k8s = new KubernetesMode(cfg, KubeClient.forServer(api.url, api.token, api.ca));
      const [target] = (await k8s.resolve({ selector: { labelSelectors: { app: 'victim' } } }, 'shop')).targets;
      expect(target.containers[0].containerId).toBe(`containerd://${id}`);

      const req = { id: `ck-e2e-${process.pid}`, kind: 'container-kill', target, params: { signal: 'SIGKILL' }, experiment: 'experiment shop/ck' };
      const state = await k8s.inject(req);
      expect(await died).toBe('SIGKILL');
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();
      const faults = (await (await fetch(`${daemon.url}/v1/faults`)).json()) as { items?: { kind: string; target?: { containerId?: string } }[] };
      expect(JSON.stringify(faults)).toContain(id);

      await k8s.recover(req, state);
      expect(JSON.stringify(await (await fetch(`${daemon.url}/v1/faults`)).json())).not.toContain(id);
      expect(api.events.map((e) => [e.reason, e.involvedObject.name])).toEqual([
        ['FaultInjected', 'victim-1'],
        ['FaultRecovered', 'victim-1'],
      ]);
    } finally {
      await api.close();
      await daemon.shutdown({ recover: true });
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describeV2('cgroup v2 (unified), real processes', () => {
  const podUid = randomUUID().replace(/-/g, '_');
  const crioId = hex64();
  const dockerId = hex64();

  it('crio-<id>.scope resolves to the container, never to crio-conmon-<id>.scope', async () => {
    const slice = `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${podUid}.slice`;
    const conmonDir = makeCgroup(V2_ROOT, `${slice}/crio-conmon-${crioId}.scope`);
    const ctrDir = makeCgroup(V2_ROOT, `${slice}/crio-${crioId}.scope`);
    const conmon = spawnSleeper();
    const ctr = spawnSleeper();
    moveInto(conmonDir, conmon.pid as number);
    moveInto(ctrDir, ctr.pid as number);
    const c = await resolveContainer(`cri-o://${crioId}`);
    expect(c.processes.map((p) => p.pid)).toEqual([ctr.pid]);
    expect(c.cgroup).toBe(`/${slice}/crio-${crioId}.scope`);
  });

  it('docker-<id>.scope in the unified tree; a signal by pid reaches exactly that process', async () => {
    const dir = makeCgroup(V2_ROOT, `kubepods.slice/kubepods-pod${podUid}.slice/docker-${dockerId}.scope`);
    const s = spawnSleeper();
    moveInto(dir, s.pid as number);
    const c = await resolveContainer(dockerId);
    expect(c.main.pid).toBe(s.pid);
    const exited = new Promise<NodeJS.Signals | null>((r) => s.once('exit', (_code, sig) => r(sig)));
    process.kill(c.main.pid, 'SIGTERM');
    expect(await exited).toBe('SIGTERM');
  });
});

if (!haveV1 && !haveV2) {
  it.skip('cgroup tests skipped: no writable cgroup hierarchy on this machine', () => {});
}
