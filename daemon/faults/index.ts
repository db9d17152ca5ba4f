import type { FaultKind } from './types';
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
import processKill from './process-kill';
import processPause from './process-pause';
import tcpFault from './tcp-fault';
import timeSkew from './time-skew';

/**
 * The daemon's fault kinds: one file each, pairing the wire spec from api/kinds with the code that
 * applies and reverts it. Add a kind by adding its file and one line here (see README.md).
 */
export const FAULT_KINDS: readonly FaultKind[] = [
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
  processKill,
  processPause,
  tcpFault,
  timeSkew,
] as unknown as readonly FaultKind[];

export function faultKind(kind: string): FaultKind | undefined {
  return FAULT_KINDS.find((k) => k.spec.kind === kind);
}
