import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startDaemon, type RunningDaemon } from '../../../daemon/index';
import { startExporter, type RunningExporter } from '../../../exporter/index';
import { KubeClient } from '../../../exporter/targets/kubernetes/client';
import { kubernetesConfigFrom } from '../../../exporter/targets/kubernetes/config';
import { KubernetesMode } from '../../../exporter/targets/kubernetes/index';
import { startKubernetes, type KubernetesSetup } from '../../../exporter/targets/kubernetes/setup';
import { startFakeApiServer, type FakeApiServer } from '../../helpers/fake-kube-apiserver';
import { request } from '../../helpers/http';
import { addSecondAddressB, canUseNetns, makeNetnsPair, type NetnsPair } from '../../helpers/netns';
import { pollFor } from '../../helpers/wait';
import { udpDelivered } from '../daemon-traffic';
import { V1_ROOT, writable } from './cgroup-roots';
import { namespace, OPTED_IN, pod } from '../../unit/kubernetes/fixtures';

// Chaos Mesh's NetworkChaos `target:` in Kubernetes mode, end to end with real traffic: the exporter runs
// in Kubernetes mode against the API-SHAPED STAND-IN of tests/helpers/fake-kube-apiserver.ts (no real API
// server can run here) and a real daemon on this "node". The target pod's container is a process the test
// put in a kubelet-style cgroup (v1 pids hierarchy) inside network namespace A; the peer pods are pod
// objects whose status.podIP are addresses of namespace B, on a node with no Faultline daemon at all: the
// exporter takes the pods' IPs from the API server. While the partition runs, pods of the peer selector
// come and go, and the partition follows (re-resolved, swapped in place on the daemon).

jest.setTimeout(180_000);
const nsOk = canUseNetns();
const haveV1 = writable(V1_ROOT);
const suite = nsOk.ok && haveV1 ? describe : describe.skip;

const waitFor = <T>(fn: () => Promise<T | undefined> | T | undefined, what: string) => pollFor(what, fn, 60_000, 100);

suite('Kubernetes mode: a partition whose other side is a pod selector (Chaos Mesh `target:`)', () => {
  let pair: NetnsPair;
  let api: FakeApiServer;
  let daemon: RunningDaemon;
  let setup: KubernetesSetup;
  let ex: RunningExporter;
  let sleeper: ChildProcess;
  const made: string[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), `faultline-k8s-peer-${process.pid}-`));
  let addrB2 = '';

  /** A pod object the stand-in serves, with its IP(s) set. */
  const peerPod = (name: string, ips: string[], node = 'node-b') => {
    const p = pod({ name, labels: { app: 'db' }, node });
    p.status!.podIP = ips[0];
    p.status!.podIPs = ips.map((x) => ({ ip: x }));
    return p;
  };
  const api_ = (m: string, p: string, b?: unknown) => request(ex.url, m, p, b);
  const phase = async (name: string) => (await api_('GET', `/api/v1/experiments/shop/${name}`)).body.status?.phase as string;

  beforeAll(async () => {
    pair = makeNetnsPair('k8speer');
    addrB2 = addSecondAddressB(pair);

    // the target pod's container: a process in namespace A, in the cgroup a kubelet would make for it
    const id = randomBytes(32).toString('hex');
    let cg = V1_ROOT;
    for (const part of ['kubepods', 'burstable', `pod${randomUUID()}`, `cri-containerd-${id}.scope`]) {
      cg = path.join(cg, part);
      if (!existsSync(cg)) {
        mkdirSync(cg);
        made.push(cg);
      }
    }
    sleeper = spawn('ip', ['netns', 'exec', pair.a, 'sleep', '600'], { stdio: 'ignore' });
    await waitFor(() => (readFileSync(`/proc/${sleeper.pid}/comm`, 'utf8').trim() === 'sleep' ? true : undefined), 'the sleeper to exec');
    writeFileSync(path.join(cg, 'cgroup.procs'), String(sleeper.pid));

    daemon = await startDaemon({ listen: '127.0.0.1:0', stateDir: path.join(dir, 'daemon'), logger: pino({ level: 'silent' }) });
    api = await startFakeApiServer();
    api.namespaces.set('shop', namespace('shop', OPTED_IN));
    const web = pod({ name: 'web-1', labels: { app: 'web' }, node: 'node-local' });
    web.status!.containerStatuses![0].containerID = `containerd://${id}`;
    web.status!.podIP = pair.addrA;
    api.addPod(web);
    api.addPod(peerPod('db-1', [pair.addrB]));
    const d = pod({ ns: 'faultline', name: 'faultline-daemon-local', labels: { 'app.kubernetes.io/name': 'faultline-daemon' }, node: 'node-local' });
    d.status!.podIP = '127.0.0.1';
    api.addPod(d);

    const cfg = kubernetesConfigFrom({ kubernetes: true, kubernetesNamespace: 'faultline', kubernetesDaemonPort: new URL(daemon.url).port }, {});
    const log = pino({ level: 'silent' });
    setup = await startKubernetes(cfg, { log, mode: new KubernetesMode(cfg, KubeClient.forServer(api.url, api.token, api.ca), { log }) });
    ex = await startExporter({ listen: '127.0.0.1:0', dataDir: path.join(dir, 'exporter'), daemons: setup.daemons, targets: () => setup.resolver, peerRefreshMs: 500, logger: log });
  });

  afterAll(async () => {
    await ex?.close({ recover: true });
    await setup?.close({ recover: true });
    await daemon?.shutdown({ recover: true });
    await api?.close();
    sleeper?.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    for (const cg of [...made].reverse()) {
      for (let i = 0; i < 50 && existsSync(cg); i++) {
        try {
          rmdirSync(cg);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    pair?.destroy();
    rmSync(dir, { recursive: true, force: true });
    const left = made.filter((d) => existsSync(d));
    if (left.length) throw new Error(`cgroups left behind: ${left.join(', ')}`);
  });

  it('direction to (egress): the target pod cannot reach the peer pods; the partition follows pods that come and go', async () => {
    const name = 'cut-db';
    const r = await api_('POST', '/api/v1/experiments', {
      metadata: { name, namespace: 'shop' },
      spec: {
        fault: { kind: 'network-partition', params: { direction: 'egress', peer: { selector: { labelSelectors: { app: 'db' } }, mode: 'all' } } },
        targets: { selector: { labelSelectors: { app: 'web' } }, mode: 'all' },
        duration: '10m',
      },
    });
    expect([r.status, r.body.error]).toEqual([201, undefined]);
    expect(r.body.spec.fault.params.peers).toEqual([pair.addrB]); // the pod's IP, from the API server
    await waitFor(async () => ((await phase(name)) === 'Running' ? true : undefined), 'Running');
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(0);
    expect(await udpDelivered(pair.b, pair.a, pair.addrA, 200)).toBe(200); // `to` only: the peer still reaches the target
    expect(await udpDelivered(pair.a, pair.b, addrB2, 200)).toBe(200); // not a peer (yet)

    // a second db pod starts: its IP joins the running partition
    api.addPod(peerPod('db-2', [addrB2], 'node-c'));
    await waitFor(async () => {
      const faults = (await request(daemon.url, 'GET', '/v1/faults')).body.faults as { state: { peers?: string[] } }[];
      return faults.some((f) => f.state.peers?.includes(addrB2)) ? true : undefined;
    }, 'the new pod\'s IP on the daemon');
    expect(await udpDelivered(pair.a, pair.b, addrB2, 200)).toBe(0);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(0);

    // the first one goes away: its address is no longer cut off
    api.pods.delete('shop/db-1');
    await waitFor(async () => {
      const faults = (await request(daemon.url, 'GET', '/v1/faults')).body.faults as { state: { peers?: string[] } }[];
      const peers = faults.find((f) => f.state.peers)?.state.peers;
      return peers && !peers.includes(pair.addrB) ? true : undefined;
    }, 'the deleted pod\'s IP off the daemon');
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(200);
    expect(await udpDelivered(pair.a, pair.b, addrB2, 200)).toBe(0);

    // every db pod gone: the partition keeps what it has (never widened or dropped on an empty answer)
    api.pods.delete('shop/db-2');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await udpDelivered(pair.a, pair.b, addrB2, 100)).toBe(0);

    expect((await api_('POST', `/api/v1/experiments/shop/${name}/stop`)).status).toBe(200);
    await waitFor(async () => (['Finished', 'Aborted'].includes(await phase(name)) ? true : undefined), 'stopped');
    expect(await udpDelivered(pair.a, pair.b, addrB2, 200)).toBe(200);
    expect(((await request(daemon.url, 'GET', '/v1/faults')).body.faults as unknown[]).length).toBe(0);
  });

  it('direction from (ingress): traffic from the peer pod into the target is cut, not the other way; mode one takes one pod\'s IP', async () => {
    api.addPod(peerPod('db-1', [pair.addrB]));
    const post = (name: string, peer: Record<string, unknown>) =>
      api_('POST', '/api/v1/experiments', {
        metadata: { name, namespace: 'shop' },
        spec: {
          fault: { kind: 'network-partition', params: { direction: 'ingress', peer } },
          targets: { selector: { labelSelectors: { app: 'web' } }, mode: 'all' },
          duration: '10m',
        },
      });
    const stop = async (name: string) => {
      expect((await api_('POST', `/api/v1/experiments/shop/${name}/stop`)).status).toBe(200);
      await waitFor(async () => (['Finished', 'Aborted'].includes(await phase(name)) ? true : undefined), 'stopped');
    };
    let r = await post('cut-from-db', { selector: { labelSelectors: { app: 'db' } } });
    expect([r.status, r.body.spec?.fault.params.peers]).toEqual([201, [pair.addrB]]);
    await waitFor(async () => ((await phase('cut-from-db')) === 'Running' ? true : undefined), 'Running');
    expect(await udpDelivered(pair.b, pair.a, pair.addrA, 200)).toBe(0);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 200)).toBe(200);
    await stop('cut-from-db');
    expect(await udpDelivered(pair.b, pair.a, pair.addrA, 200)).toBe(200);

    api.addPod(peerPod('db-2', [addrB2]));
    r = await post('cut-from-one', { selector: { labelSelectors: { app: 'db' } }, mode: 'one' });
    expect(r.status).toBe(201);
    expect(r.body.spec.fault.params.peers).toHaveLength(1);
    expect([pair.addrB, addrB2]).toContain(r.body.spec.fault.params.peers[0]);
    await waitFor(async () => ((await phase('cut-from-one')) === 'Running' ? true : undefined), 'Running');
    await stop('cut-from-one');
    api.pods.delete('shop/db-1');
    api.pods.delete('shop/db-2');
  });

  it('a peer selector that matches no pod, or only pods of a refused namespace, is refused naming the field; nothing injected', async () => {
    for (const [i, selector] of [{ labelSelectors: { app: 'nothing-here' } }, { namespaces: ['kube-system'] }].entries()) {
      const r = await api_('POST', '/api/v1/experiments', {
        metadata: { name: `cut-none-${i}`, namespace: 'shop' },
        spec: {
          fault: { kind: 'network-partition', params: { direction: 'both', peer: { selector } } },
          targets: { selector: { labelSelectors: { app: 'web' } }, mode: 'all' },
          duration: '1m',
        },
      });
      expect([r.status, r.body.error?.details?.map((d: { field: string }) => d.field)]).toEqual([422, ['/spec/fault/params/peer/selector']]);
    }
    expect(((await request(daemon.url, 'GET', '/v1/faults')).body.faults as unknown[]).length).toBe(0);
    expect(await udpDelivered(pair.a, pair.b, pair.addrB, 100)).toBe(100);
  });
});
