import { KIND_SPECS, type DaemonKindName, type KindSpec } from '../../api/kinds/index';
import type { FaultKind } from './types';
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
import processKill from './process-kill';
import processPause from './process-pause';
import tcpFault from './tcp-fault';
import timeSkew from './time-skew';

/**
 * The daemon's half of the kind registry (api/kinds/index.ts is the registry): the code of each kind a node
 * daemon runs, keyed by kind name. Its type comes from the registry, so tsc fails here when a registered kind
 * has no code or a key is not a registered kind; the check below (and tests/unit/kind-registry.test.ts) refuse
 * code whose spec is not the registered one.
 */
const IMPLEMENTATIONS = {
  'cpu-stress': cpuStress,
  'disk-fill': diskFill,
  'disk-io-stress': diskIoStress,
  'dns-fault': dnsFault,
  'http-fault': httpFault,
  'memory-stress': memoryStress,
  'network-bandwidth': networkBandwidth,
  'network-corrupt': networkCorrupt,
  'network-delay': networkDelay,
  'network-duplicate': networkDuplicate,
  'network-loss': networkLoss,
  'network-netem': networkNetem,
  'network-partition': networkPartition,
  'network-reorder': networkReorder,
  'process-kill': processKill,
  'process-pause': processPause,
  'tcp-fault': tcpFault,
  'time-skew': timeSkew,
} satisfies { readonly [K in DaemonKindName]: { spec: KindSpec } };

type RegisteredSpec = (typeof KIND_SPECS)[number];
function isDaemonKind(spec: RegisteredSpec): spec is Exclude<RegisteredSpec, { scope: 'pod' }> {
  return spec.scope !== 'pod';
}

/** The daemon's fault kinds, in registry order. */
export const FAULT_KINDS: readonly FaultKind[] = KIND_SPECS.filter(isDaemonKind).map((spec) => {
  // Each kind's code is typed by its own params and state; the daemon drives them all through the general shape.
  const code = IMPLEMENTATIONS[spec.kind] as unknown as FaultKind;
  // A typo'd key or a file importing another kind's spec would otherwise serve the wrong schema.
  if (code.spec !== spec) throw new Error(`daemon/faults: the code registered for ${spec.kind} carries the spec of ${code.spec.kind}`);
  return code;
});

export function faultKind(kind: string): FaultKind | undefined {
  return FAULT_KINDS.find((k) => k.spec.kind === kind);
}
