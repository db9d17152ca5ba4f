import { createHash } from 'node:crypto';
import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';

// Realistic pod, namespace and node objects, shaped as the API server returns them (the fields a
// kubelet and a ReplicaSet fill in), for selector tests that run without a cluster.

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

export interface PodOpts {
  ns?: string;
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  node?: string;
  phase?: string;
  containers?: string[];
  hostNetwork?: boolean;
  terminating?: boolean;
  serviceAccount?: string;
}

export function pod(o: PodOpts): V1Pod {
  const ns = o.ns ?? 'shop';
  const containers = o.containers ?? ['app'];
  const phase = o.phase ?? 'Running';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.name,
      namespace: ns,
      uid: `${hex(`${ns}/${o.name}`).slice(0, 8)}-1111-2222-3333-${hex(o.name).slice(0, 12)}`,
      resourceVersion: '4711',
      creationTimestamp: new Date('2026-11-25T06:00:00Z'),
      labels: o.labels ?? {},
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.terminating ? { deletionTimestamp: new Date('2026-11-25T06:30:00Z') } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${o.name.replace(/-[a-z0-9]+$/, '')}`, uid: 'rs-uid', controller: true }],
    },
    spec: {
      nodeName: o.node ?? 'node-a',
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      serviceAccountName: o.serviceAccount ?? 'default',
      ...(o.hostNetwork ? { hostNetwork: true } : {}),
      containers: containers.map((c) => ({ name: c, image: `registry.example/${c}:1.2.3`, ports: [{ containerPort: 8080, protocol: 'TCP' }] })),
    },
    status: {
      phase,
      podIP: '10.244.1.7',
      hostIP: '192.168.0.11',
      containerStatuses:
        phase === 'Pending'
          ? containers.map((c) => ({ name: c, image: `registry.example/${c}:1.2.3`, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }))
          : containers.map((c) => ({
              name: c,
              image: `registry.example/${c}:1.2.3`,
              imageID: `registry.example/${c}@sha256:${hex(c)}`,
              containerID: `containerd://${hex(`${ns}/${o.name}/${c}`)}`,
              ready: true,
              restartCount: 0,
              started: true,
              state: { running: { startedAt: new Date('2026-11-25T06:01:00Z') } },
            })),
    },
  };
}

export function namespace(name: string, annotations?: Record<string, string>): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: `ns-${name}`, labels: { 'kubernetes.io/metadata.name': name }, ...(annotations ? { annotations } : {}) },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

export function node(name: string, labels: Record<string, string>): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `node-${name}`, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...labels } },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.0.11' }] },
  };
}

export const OPTED_IN = { 'faultline.dev/enabled': 'true' };
