import type { KindSpec } from './types';
import cpuStress from './cpu-stress';
import diskFill from './disk-fill';
import diskIoStress from './disk-io-stress';
import memoryStress from './memory-stress';
import networkBandwidth from './network-bandwidth';
import networkCorrupt from './network-corrupt';
import networkDelay from './network-delay';
import networkDuplicate from './network-duplicate';
import networkLoss from './network-loss';
import networkPartition from './network-partition';
import networkReorder from './network-reorder';
import processKill from './process-kill';
import processPause from './process-pause';

export * from './types';

/**
 * The one list of fault kinds' wire specs, alphabetical. The daemon's registry pairs each with
 * its code; a test keeps this list, the files in this folder and daemon/faults/ in step.
 */
export const KIND_SPECS: readonly KindSpec[] = [
  cpuStress,
  diskFill,
  diskIoStress,
  memoryStress,
  networkBandwidth,
  networkCorrupt,
  networkDelay,
  networkDuplicate,
  networkLoss,
  networkPartition,
  networkReorder,
  processKill,
  processPause,
];

export const KIND_NAMES = KIND_SPECS.map((k) => k.kind);

export function kindSpec(kind: string): KindSpec | undefined {
  return KIND_SPECS.find((k) => k.kind === kind);
}
