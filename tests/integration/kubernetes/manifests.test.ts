import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

// deploy/kubernetes without a cluster: every file parses as YAML; every object validates against the
// Kubernetes API schemas (kubernetes-models from npm, run as a child process because it is ESM-only);
// the overlays build with `kubectl kustomize` (offline) and their output validates too; and the
// security-relevant parts are pinned: RBAC verbs exactly as the README lists them, the daemon's
// capabilities and mounts, selectors that match their pods, secrets that exist.
// What this cannot tell: whether a real API server admits them (admission, PSA) — see the README.

const ROOT = path.resolve(__dirname, '../../..');
const DEPLOY = path.join(ROOT, 'deploy/kubernetes');

type Obj = Record<string, any>;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

function parseFile(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

function schemaErrors(objects: Obj[]): { kind: string; name: string; errors: string[] }[] {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'tests/helpers/validate-k8s-manifests.ts')], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    timeout: 120_000,
    cwd: ROOT,
  });
  if (r.status !== 0) throw new Error(`validator failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// kubectl builds the overlays offline. It is not installed by .ci/run (Debian's kubernetes-client is
// kubectl 1.20, whose kustomize predates `patches`), so this part runs only where a kubectl ≥ 1.21 exists.
function kubectlMinor(): number | undefined {
  try {
    const out = execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 30_000 });
    return Number((JSON.parse(out) as { clientVersion: { minor: string } }).clientVersion.minor.replace(/\D.*$/, ''));
  } catch {
    return undefined;
  }
}
const minor = kubectlMinor();
const kubectlOk = minor !== undefined && minor >= 21;
const describeKubectl = kubectlOk ? describe : describe.skip;
function build(dir: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', path.join(DEPLOY, dir)], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: '/dev/null' } });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}

const files = yamlFiles(DEPLOY);
const isKustomization = (f: string) => path.basename(f) === 'kustomization.yaml';
const objects = files.filter((f) => !isKustomization(f)).flatMap(parseFile);
const byKind = (kind: string, name?: string) => objects.filter((o) => o.kind === kind && (!name || o.metadata?.name === name));
const one = (kind: string, name: string) => {
  const found = byKind(kind, name);
  expect(found).toHaveLength(1);
  return found[0];
};

/** Every object the tests validate, checked in one child process (its start dominates the cost). */
const toValidate = new Map<string, Obj[]>();
let validated = new Map<string, { kind: string; name: string; errors: string[] }[]>();
function badObjects(): Obj[] {
  const bad = JSON.parse(JSON.stringify(one('DaemonSet', 'faultline-daemon'))) as Obj;
  bad.spec.template.spec.containers[0].ports[0].containerPort = 'ninety';
  bad.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
  const noSelector = JSON.parse(JSON.stringify(one('Deployment', 'faultline-exporter'))) as Obj;
  delete noSelector.spec.selector;
  return [bad, noSelector];
}

beforeAll(() => {
  toValidate.set('files', objects);
  toValidate.set('bad', badObjects());
  for (const dir of kubectlOk ? ['.', 'namespaced'] : []) toValidate.set(`kustomize:${dir}`, build(dir));
  const groups = [...toValidate.entries()];
  const flat = schemaErrors(groups.flatMap(([, objs]) => objs));
  validated = new Map();
  let i = 0;
  for (const [name, objs] of groups) {
    validated.set(name, flat.slice(i, i + objs.length));
    i += objs.length;
  }
}, 180_000);

describe('deploy/kubernetes manifests', () => {
  it('every file parses; every object has apiVersion, kind, metadata.name and (unless cluster-scoped) a namespace', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'];
    for (const o of objects) {
      expect(typeof o.apiVersion).toBe('string');
      expect(typeof o.kind).toBe('string');
      expect(o.metadata?.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      if (!clusterScoped.includes(o.kind)) expect(o.metadata?.namespace).toMatch(/^[a-z0-9-]+$/);
    }
    for (const k of files.filter(isKustomization)) {
      const [doc] = parseFile(k);
      expect(doc).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' });
      for (const r of doc.resources as string[]) expect(() => statSync(path.join(path.dirname(k), r))).not.toThrow();
    }
  });

  it('every object validates against the Kubernetes schemas (kubernetes-models)', () => {
    const results = validated.get('files') ?? [];
    expect(results).toHaveLength(objects.length);
    expect(results.filter((r) => r.errors.length)).toEqual([]);
    expect(results.map((r) => r.kind).sort()).toEqual(expect.arrayContaining(['apps/v1/DaemonSet', 'apps/v1/Deployment', 'monitoring.coreos.com/v1/ServiceMonitor']));
  });

  it('the validator really rejects bad objects (so the check above means something)', () => {
    const [r1, r2] = validated.get('bad') ?? [];
    expect(r1.errors.join(' ')).toMatch(/containerPort must be integer|imagePullPolicy must be equal to one of/);
    expect(r2.errors.join(' ')).toMatch(/selector/);
  });

  it('exporter RBAC: exactly the verbs the code uses and the README lists', () => {
    const rules = (one('ClusterRole', 'faultline-exporter').rules as Obj[]).map((r) => `${r.apiGroups.join(',') || 'core'} ${r.resources.join(',')}: ${r.verbs.join(',')}`);
    expect(rules).toEqual(['core pods: get,list,delete,patch', 'core namespaces: get', 'core nodes: list', 'core events: create']);
    const leader = (one('Role', 'faultline-exporter-leader').rules as Obj[]).map((r) => `${r.resources}${r.resourceNames ? `/${r.resourceNames}` : ''}: ${r.verbs.join(',')}`);
    expect(leader).toEqual(['leases: create', 'leases/faultline-exporter: get,update']);
    expect(one('ClusterRoleBinding', 'faultline-exporter').subjects).toEqual([{ kind: 'ServiceAccount', name: 'faultline-exporter', namespace: 'faultline' }]);
    // nothing anywhere grants secrets, exec, escalate, bind or a wildcard
    for (const o of [...byKind('ClusterRole'), ...byKind('Role')]) {
      for (const r of o.rules as Obj[]) {
        expect(r.resources.join(' ')).not.toMatch(/secrets|pods\/exec|\*/);
        expect(r.verbs.join(' ')).not.toMatch(/\*|escalate|bind|impersonate/);
      }
    }
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const line of ['pods | get, list, delete, patch', 'namespaces | get', 'nodes | list', 'events | create', 'leases | get, create, update']) {
      expect(readme).toContain(line);
    }
  });

  it('the daemon: hostPID, hostNetwork, the exact capabilities, cgroup and netns mounts, no API token', () => {
    const ds = one('DaemonSet', 'faultline-daemon');
    const pod = ds.spec.template.spec;
    expect(pod).toMatchObject({ hostPID: true, hostNetwork: true, automountServiceAccountToken: false, serviceAccountName: 'faultline-daemon' });
    const c = pod.containers[0];
    expect(c.securityContext.privileged).toBe(false);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE', 'KILL'] });
    const mounts = Object.fromEntries((c.volumeMounts as Obj[]).map((m) => [m.mountPath, m.name]));
    const hostPaths = Object.fromEntries((pod.volumes as Obj[]).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath.path]));
    expect(hostPaths[mounts['/sys/fs/cgroup']]).toBe('/sys/fs/cgroup');
    expect(hostPaths[mounts['/run/netns']]).toBe('/run/netns');
    expect(hostPaths[mounts['/var/lib/faultline']]).toBe('/var/lib/faultline'); // the journal survives restarts
    expect(c.command).toEqual(['node', '--max-semi-space-size=1', '/app/bin/faultline.js']); // the image's entrypoint, with a small young generation
    expect(c.args).toEqual(['daemon', '--listen', '0.0.0.0:9471', '--state-dir', '/var/lib/faultline']);
    expect((c.env as Obj[]).find((e) => e.name === 'FAULTLINE_DAEMON_TOKEN')?.valueFrom.secretKeyRef).toEqual({ name: 'faultline-tokens', key: 'daemon-token' });
  });

  it('the exporter: --kubernetes, its own namespace from the downward API, non-root, read-only root', () => {
    const d = one('Deployment', 'faultline-exporter');
    const c = d.spec.template.spec.containers[0];
    expect(c.args).toContain('--kubernetes');
    expect((c.env as Obj[]).find((e) => e.name === 'POD_NAMESPACE')?.valueFrom.fieldRef.fieldPath).toBe('metadata.namespace');
    expect(d.spec.template.spec.serviceAccountName).toBe('faultline-exporter');
    expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });

  it('selectors, ports and secret keys line up', () => {
    const secret = one('Secret', 'faultline-tokens');
    for (const w of [...byKind('Deployment'), ...byKind('DaemonSet')]) {
      expect(w.spec.template.metadata.labels).toMatchObject(w.spec.selector.matchLabels);
      for (const e of w.spec.template.spec.containers.flatMap((c: Obj) => c.env ?? []) as Obj[]) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) expect(Object.keys(secret.stringData)).toContain(ref.key);
      }
    }
    for (const s of byKind('Service')) {
      const target = [...byKind('Deployment'), ...byKind('DaemonSet')].find((w) => Object.entries(s.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
      expect(target).toBeDefined();
      const portNames = target!.spec.template.spec.containers.flatMap((c: Obj) => (c.ports ?? []).map((p: Obj) => p.name));
      for (const p of s.spec.ports as Obj[]) expect(portNames).toContain(p.targetPort);
    }
    for (const sm of byKind('ServiceMonitor')) {
      const svc = byKind('Service').find((s) => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v));
      expect(svc).toBeDefined();
      expect(Object.keys(secret.stringData)).toContain(sm.spec.endpoints[0].authorization.credentials.key);
    }
    // the daemon selector the exporter uses by default finds the DaemonSet's pods
    expect(one('DaemonSet', 'faultline-daemon').spec.template.metadata.labels['app.kubernetes.io/name']).toBe('faultline-daemon');
  });
});

describeKubectl(`kubectl kustomize (offline)${minor === undefined ? ' — skipped: kubectl not installed' : ''}`, () => {
  const kinds = (objs: Obj[]) => objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();

  it('deploy/kubernetes: one apply, everything but the ServiceMonitors; all valid', () => {
    const objs = build('.');
    expect(kinds(objs)).toEqual(
      [
        'ClusterRole//faultline-exporter',
        'ClusterRoleBinding//faultline-exporter',
        'DaemonSet/faultline/faultline-daemon',
        'Deployment/faultline/faultline-exporter',
        'Namespace//faultline',
        'Role/faultline/faultline-exporter-leader',
        'RoleBinding/faultline/faultline-exporter-leader',
        'Secret/faultline/faultline-tokens',
        'Service/faultline/faultline-daemon',
        'Service/faultline/faultline-exporter',
        'ServiceAccount/faultline/faultline-daemon',
        'ServiceAccount/faultline/faultline-exporter',
      ].sort(),
    );
    expect(validated.get('kustomize:.')?.filter((r) => r.errors.length)).toEqual([]);
    expect(validated.get('kustomize:.')).toHaveLength(objs.length);
  });

  it('monitoring adds the ServiceMonitors; namespaced swaps the ClusterRole for Roles and scopes the exporter', () => {
    expect(kinds(build('monitoring')).filter((k) => k.startsWith('ServiceMonitor'))).toEqual(['ServiceMonitor/faultline/faultline-daemon', 'ServiceMonitor/faultline/faultline-exporter']);
    const ns = build('namespaced');
    expect(kinds(ns).filter((k) => k.startsWith('Cluster'))).toEqual([]);
    expect(kinds(ns).filter((k) => k.startsWith('Role/'))).toEqual(['Role/demo/faultline-exporter', 'Role/faultline/faultline-exporter-daemons', 'Role/faultline/faultline-exporter-leader']);
    const env = ns.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].env as Obj[];
    expect(env.find((e) => e.name === 'FAULTLINE_KUBERNETES_SCOPE_NAMESPACES')?.value).toBe('demo');
    expect(validated.get('kustomize:namespaced')?.filter((r) => r.errors.length)).toEqual([]);
  });
});
