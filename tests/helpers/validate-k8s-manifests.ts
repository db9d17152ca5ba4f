// Validates Kubernetes objects against the Kubernetes API schemas shipped by kubernetes-models (and
// @kubernetes-models/prometheus-operator for ServiceMonitor), offline. Those packages are ESM-only,
// so tests run this file as a child process (Node strips its types: it imports only packages) instead of importing it:
// a JSON array of objects on stdin → a JSON array of {kind, name, errors} on stdout.
// One file per model (not the package indexes): loading only these keeps the child quick.
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

type Obj = { apiVersion?: string; kind?: string; metadata?: { name?: string } };
type ModelClass = new (data: never) => { validate(): void };

const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace as unknown as ModelClass,
  'v1/Secret': Secret as unknown as ModelClass,
  'v1/Service': Service as unknown as ModelClass,
  'v1/ServiceAccount': ServiceAccount as unknown as ModelClass,
  'apps/v1/Deployment': Deployment as unknown as ModelClass,
  'apps/v1/DaemonSet': DaemonSet as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/Role': Role as unknown as ModelClass,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as unknown as ModelClass,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor as unknown as ModelClass,
};

const chunks: Buffer[] = [];
process.stdin.on('data', (c: Buffer) => chunks.push(c));
process.stdin.on('end', () => {
  const objects = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Obj[];
  const out = objects.map((o) => {
    const key = `${o.apiVersion}/${o.kind}`;
    const Model = MODELS[key];
    if (!Model) return { kind: key, name: o.metadata?.name, errors: [`no schema for ${key}`] };
    try {
      new Model(o as never).validate();
      return { kind: key, name: o.metadata?.name, errors: [] };
    } catch (err) {
      return { kind: key, name: o.metadata?.name, errors: [(err as Error).message] };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
