import type { TObject } from '@sinclair/typebox';

/** What a host must have for a kind to work; probed by the daemon at start (`/v1/info`). */
export type Capability = 'root' | 'nft' | 'tc' | 'tbf' | 'netem' | 'cgroup' | 'k8s';

/** What a kind acts on: processes, a network namespace, the whole host, or Kubernetes objects. */
export type KindScope = 'process' | 'network' | 'host' | 'pod';

/** The wire description of one fault kind: everything but the code that injects it. */
export interface KindSpec<P extends TObject = TObject> {
  kind: string;
  title: string;
  description: string;
  scope: KindScope;
  /** Needs a target to act on (process kinds) or can act on the host as a whole (stress, disk). */
  targetRequired: boolean;
  requires: Capability[];
  params: P;
}

/**
 * Keeps `kind` and `scope` as literal types, so the registry (index.ts) can name its kinds as a type and
 * the daemon's table (daemon/faults/index.ts) fails to compile when it misses one or has one too many.
 */
export function defineKind<P extends TObject, K extends string, S extends KindScope>(
  spec: KindSpec<P> & { kind: K; scope: S },
): KindSpec<P> & { kind: K; scope: S } {
  return spec;
}
