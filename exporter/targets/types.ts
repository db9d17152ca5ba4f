import type { DaemonTarget } from '../../api/daemon';
import type { ExperimentSpec } from '../../api/experiment';
import type { TargetCandidate } from '../../api/targets';

// What the engine needs from target resolution, whatever the mode (local processes across the
// configured daemons here; Kubernetes pods in targets/kubernetes/).

/** One fault placement: which daemon, and the daemon-level target. */
export interface ResolvedTarget {
  daemon: string;
  target: DaemonTarget;
  description: string;
  /** Process name (comm) when the target is one process (for policy checks). */
  processName?: string;
}

export interface Resolution {
  selected: ResolvedTarget[];
  /** How many targets matched before the mode picked its share. */
  candidates: number;
}

export interface TargetResolver {
  /** Picks the targets of one run. Throws ApiError 400 (naming the /spec field) when nothing matches. */
  resolve(namespace: string, spec: ExperimentSpec): Promise<Resolution>;
  /** Everything a selector could pick now (`GET /api/v1/targets`). */
  candidates(): Promise<TargetCandidate[]>;
  /**
   * The addresses of what `targets` selects, where the resolver knows them itself (Kubernetes: the pods'
   * IPs from the API server, whichever node they run on). Without it, each selected target's daemon is
   * asked for the addresses of its network namespace (exporter/targets/peers.ts).
   */
  addressesOf?(namespace: string, targets: NonNullable<ExperimentSpec['targets']>): Promise<string[]>;
}
