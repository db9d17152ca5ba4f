import type { Static, TObject } from '@sinclair/typebox';
import type { ErrorDetail } from '../errors';

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
  /**
   * What the params schema cannot say (one field excludes another, an address octet over 255), host-independent:
   * run after the schema by the exporter at create, the panel's form and the daemon, so a request the daemon
   * would refuse at inject is a 400 up front. Fields relative to the params ("/listen"); empty = fine.
   */
  check?(params: Static<P>): ErrorDetail[];
}

/** A kind's `check` with `prefix` ("/spec/fault/params", "/params") in front of each field. */
export function kindProblems(spec: KindSpec, params: unknown, prefix: string): ErrorDetail[] {
  return (spec.check?.(params as never) ?? []).map((d) => ({ field: `${prefix}${d.field}`, reason: d.reason }));
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
