import type { KindSpec } from './types';
import containerKill from './container-kill';
import cpuStress from './cpu-stress';
import diskFill from './disk-fill';
import diskIoStress from './disk-io-stress';
import dnsFault from './dns-fault';
import httpFault from './http-fault';
import memoryStress from './memory-stress';
import networkBandwidth from './network-bandwidth';
import networkCorrupt from './network-corrupt';
import networkDelay from './network-delay';
import networkDuplicate from './network-duplicate';
import networkLoss from './network-loss';
import networkNetem from './network-netem';
import networkPartition from './network-partition';
import networkReorder from './network-reorder';
import podFailure from './pod-failure';
import podKill from './pod-kill';
import processKill from './process-kill';
import processPause from './process-pause';
import tcpFault from './tcp-fault';
import timeSkew from './time-skew';

export * from './types';

/**
 * THE registry of fault kinds (as Toxiproxy's `Register` keeps its toxics): every kind is one line here,
 * alphabetical, and nowhere else. To add a kind: `api/kinds/<kind>.ts` (its wire spec, `defineKind`), one
 * line here, and — unless its scope is 'pod' — `daemon/faults/<kind>.ts` (`defineFault` with that spec)
 * plus one line in the daemon's table `daemon/faults/index.ts`, whose type is derived from this list:
 * tsc refuses the daemon when a kind is missing there or unknown here, and tests/unit/kind-registry.test.ts
 * fails when a file in either folder is not registered or a registered kind has no file.
 * Kinds with scope 'pod' (pod-kill, pod-failure, container-kill) have no daemon/faults file: the exporter
 * runs them through the Kubernetes API (exporter/targets/kubernetes/); container-kill asks the pod's node
 * daemon for a process-kill on target {containerId}.
 */
export const KIND_SPECS = [
  containerKill,
  cpuStress,
  diskFill,
  diskIoStress,
  dnsFault,
  httpFault,
  memoryStress,
  networkBandwidth,
  networkCorrupt,
  networkDelay,
  networkDuplicate,
  networkLoss,
  networkNetem,
  networkPartition,
  networkReorder,
  podFailure,
  podKill,
  processKill,
  processPause,
  tcpFault,
  timeSkew,
] as const satisfies readonly KindSpec[];

/** Every registered kind's name. */
export type KindName = (typeof KIND_SPECS)[number]['kind'];
/** The kinds a node daemon implements: all but those the exporter runs through Kubernetes (scope 'pod'). */
export type DaemonKindName = Exclude<(typeof KIND_SPECS)[number], { scope: 'pod' }>['kind'];

export const KIND_NAMES: readonly KindName[] = KIND_SPECS.map((k) => k.kind);

export function kindSpec(kind: string): KindSpec | undefined {
  return KIND_SPECS.find((k) => k.kind === kind);
}
