import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Type, type Static } from '@sinclair/typebox';
import type { Command } from 'commander';
import { ApiError } from '../../../api/errors';
import { ImageRef } from '../../../api/kinds/pod-failure';
import { NamespaceName } from '../../../api/kubernetes';
import { validate } from '../../../api/validate';

// `faultline exporter --kubernetes ...`: every setting of Kubernetes mode, with its FAULTLINE_* twin.
// Flags win over the environment; values are checked here (400 naming the flag) before anything
// talks to a cluster.

export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export const KubernetesConfig = Type.Object(
  {
    enabled: Type.Boolean(),
    /** Path of a kubeconfig; default: in-cluster service account, else $KUBECONFIG / ~/.kube/config. */
    kubeconfig: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    /** Faultline's own namespace: always protected, holds the daemons and the leader Lease. */
    namespace: NamespaceName,
    /** Namespace-scoped mode (a Role per namespace instead of a ClusterRole): the only namespaces seen. */
    scopeNamespaces: Type.Optional(Type.Array(NamespaceName, { minItems: 1, maxItems: 256 })),
    protectedNamespaces: Type.Array(NamespaceName, { maxItems: 256 }),
    requireNamespaceOptIn: Type.Boolean(),
    pauseImage: ImageRef,
    daemonSelector: Type.String({ pattern: '^[A-Za-z0-9._/-]+=[A-Za-z0-9._-]+(,[A-Za-z0-9._/-]+=[A-Za-z0-9._-]+)*$', description: 'label selector of the daemon pods, key=value[,key=value]' }),
    daemonPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    /** Name of the coordination.k8s.io Lease for leader election; "" turns leader election off. */
    leaseName: Type.String({ pattern: '^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$' }),
    identity: Type.String({ minLength: 1, maxLength: 253 }),
    events: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type KubernetesConfig = Static<typeof KubernetesConfig>;

/** flag (commander camelCase key) → env twin, the schema field it fills, and its help. */
const OPTIONS = [
  { flag: '--kubernetes', key: 'kubernetes', env: 'FAULTLINE_KUBERNETES', field: 'enabled', help: 'Kubernetes mode: targets are pods (Chaos Mesh selectors)' },
  { flag: '--kubeconfig <path>', key: 'kubeconfig', env: 'FAULTLINE_KUBECONFIG', field: 'kubeconfig', help: 'kubeconfig file (default: in-cluster, then $KUBECONFIG)' },
  { flag: '--kubernetes-namespace <ns>', key: 'kubernetesNamespace', env: 'FAULTLINE_KUBERNETES_NAMESPACE', field: 'namespace', help: "Faultline's own namespace (default: the pod's)" },
  { flag: '--kubernetes-scope-namespaces <list>', key: 'kubernetesScopeNamespaces', env: 'FAULTLINE_KUBERNETES_SCOPE_NAMESPACES', field: 'scopeNamespaces', help: 'namespace-scoped mode: comma-separated namespaces the exporter may see (Role instead of ClusterRole)' },
  { flag: '--kubernetes-protected-namespaces <list>', key: 'kubernetesProtectedNamespaces', env: 'FAULTLINE_KUBERNETES_PROTECTED_NAMESPACES', field: 'protectedNamespaces', help: 'namespaces never targeted, besides kube-system and its own (default kube-public,kube-node-lease)' },
  { flag: '--kubernetes-require-opt-in <bool>', key: 'kubernetesRequireOptIn', env: 'FAULTLINE_KUBERNETES_REQUIRE_OPT_IN', field: 'requireNamespaceOptIn', help: 'only namespaces annotated faultline.dev/enabled="true" (default true)' },
  { flag: '--kubernetes-pause-image <image>', key: 'kubernetesPauseImage', env: 'FAULTLINE_KUBERNETES_PAUSE_IMAGE', field: 'pauseImage', help: 'image pod-failure swaps in (default registry.k8s.io/pause:3.10)' },
  { flag: '--kubernetes-daemon-selector <sel>', key: 'kubernetesDaemonSelector', env: 'FAULTLINE_KUBERNETES_DAEMON_SELECTOR', field: 'daemonSelector', help: 'labels of the daemon pods (default app.kubernetes.io/name=faultline-daemon)' },
  { flag: '--kubernetes-daemon-port <port>', key: 'kubernetesDaemonPort', env: 'FAULTLINE_KUBERNETES_DAEMON_PORT', field: 'daemonPort', help: 'port of the daemons (default 9471)' },
  { flag: '--kubernetes-lease <name>', key: 'kubernetesLease', env: 'FAULTLINE_KUBERNETES_LEASE', field: 'leaseName', help: 'Lease for leader election among replicas ("" = off; default faultline-exporter)' },
  { flag: '--kubernetes-events <bool>', key: 'kubernetesEvents', env: 'FAULTLINE_KUBERNETES_EVENTS', field: 'events', help: 'record Kubernetes Events on target pods (default true)' },
] as const;

/** Adds the Kubernetes options to a command (the exporter's). */
export function addKubernetesOptions(cmd: Command): Command {
  for (const o of OPTIONS) cmd.option(o.flag, `${o.help} [${o.env}]`);
  return cmd;
}

function ownNamespaceDefault(env: NodeJS.ProcessEnv): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8').trim();
  } catch {
    return 'faultline';
  }
}

function flagOf(field: string): string {
  const o = OPTIONS.find((x) => x.field === field);
  return o ? o.flag.split(' ')[0] : field;
}

function bool(raw: unknown, field: string): boolean {
  if (typeof raw === 'boolean') return raw;
  const s = String(raw).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  const flag = flagOf(field);
  throw ApiError.invalid(`invalid option: ${flag} must be true or false, not "${String(raw)}"`, [{ field: flag, reason: 'must be true or false' }]);
}

const list = (raw: unknown) =>
  String(raw)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Builds the Kubernetes config from commander options (flags win) and the environment.
 * Throws ApiError 400 naming the flag when a value is bad.
 */
export function kubernetesConfigFrom(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): KubernetesConfig {
  const raw = (key: string, envName: string): unknown => (opts[key] !== undefined ? opts[key] : env[envName]);
  const get = (field: string) => {
    const o = OPTIONS.find((x) => x.field === field);
    return o ? raw(o.key, o.env) : undefined;
  };
  const enabledRaw = get('enabled');
  const port = get('daemonPort');
  const cfg: Record<string, unknown> = {
    enabled: enabledRaw === undefined ? false : bool(enabledRaw, 'enabled'),
    namespace: get('namespace') ?? ownNamespaceDefault(env),
    protectedNamespaces: get('protectedNamespaces') !== undefined ? list(get('protectedNamespaces')) : ['kube-public', 'kube-node-lease'],
    requireNamespaceOptIn: get('requireNamespaceOptIn') === undefined ? true : bool(get('requireNamespaceOptIn'), 'requireNamespaceOptIn'),
    pauseImage: get('pauseImage') ?? 'registry.k8s.io/pause:3.10',
    daemonSelector: get('daemonSelector') ?? 'app.kubernetes.io/name=faultline-daemon',
    daemonPort: port === undefined ? 9471 : /^[0-9]+$/.test(String(port)) ? Number(port) : String(port),
    leaseName: get('leaseName') ?? 'faultline-exporter',
    identity: env.POD_NAME || hostname(),
    events: get('events') === undefined ? true : bool(get('events'), 'events'),
  };
  if (get('kubeconfig') !== undefined) cfg.kubeconfig = String(get('kubeconfig'));
  if (get('scopeNamespaces') !== undefined) cfg.scopeNamespaces = list(get('scopeNamespaces'));
  try {
    return validate(KubernetesConfig, cfg, 'option');
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    // Name the flag, not the schema path: /daemonPort → --kubernetes-daemon-port
    const details = (err.details ?? []).map((d) => ({ field: flagOf(d.field.split('/')[1] ?? ''), reason: d.reason }));
    const first = details[0];
    throw ApiError.invalid(`invalid option: ${first ? `${first.field} ${first.reason}` : err.message}`, details);
  }
}
