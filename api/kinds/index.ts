import type { KindSpec } from './types';
import containerKill from './container-kill';
import cpuStress from './cpu-stress';
import diskFill from './disk-fill';
import diskIoStress from './disk-io-stress';
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
 * The one list of fault kinds' wire specs, alphabetical. The daemon's registry pairs each with
 * its code; a test keeps this list, the files in this folder and daemon/faults/ in step.
 * Kinds with scope 'pod' (pod-kill, pod-failure, container-kill) have no daemon/faults file: the exporter
 * runs them through the Kubernetes API (exporter/targets/kubernetes/); container-kill asks the pod's node
 * daemon for a process-kill on target {containerId}.
 */
export const KIND_SPECS: readonly KindSpec[] = [
  containerKill,
  cpuStress,
  diskFill,
  diskIoStress,
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
];

export const KIND_NAMES = KIND_SPECS.map((k) => k.kind);

export function kindSpec(kind: string): KindSpec | undefined {
  return KIND_SPECS.find((k) => k.kind === kind);
}
