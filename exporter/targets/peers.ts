import { ApiError, type ErrorDetail } from '../../api/errors';
import type { ExperimentSpec } from '../../api/experiment';
import type { PeerSelector } from '../../api/peer';
import type { DaemonRegistry } from '../daemons';
import type { BeforeStartHook, Engine } from '../engine/lifecycle';
import type { TargetResolver } from './types';

// Peer selectors (api/peer.ts, Chaos Mesh NetworkChaos `target:`): before each start and scheduled run,
// `spec.fault.params.peer` is resolved like `spec.targets` (same selector, same modes, same resolver:
// processes/netns on the daemons' hosts, or pods in Kubernetes mode), each selected target's daemon is
// asked for the addresses of its network namespace (`POST /v1/addresses`), and those addresses join
// `spec.fault.params.peers`, which is what the daemons act on. The experiment records the addresses it
// partitioned; a scheduled run resolves again from its schedule's spec (which keeps only the selector).

const FIELD = '/spec/fault/params/peer';
/** Kinds whose other side must be given (a partition from "everything" is not what anyone asks for). */
const PEERS_REQUIRED = new Set(['network-partition']);
/** The network kinds' `peers` limit (api/kinds). */
const MAX_PEERS = 64;

/** Errors of the ordinary target resolution name `/spec/targets/...`: here they are about the peer. */
function renamed(err: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  const fix = (s: string) => s.replaceAll('/spec/targets', FIELD);
  return new ApiError(err.status, err.code, fix(err.message), err.details?.map((d: ErrorDetail) => ({ ...d, field: fix(d.field) })));
}

export async function resolvePeers(namespace: string, spec: ExperimentSpec, peer: PeerSelector, targets: TargetResolver, daemons: DaemonRegistry): Promise<string[]> {
  let selected;
  try {
    ({ selected } = await targets.resolve(namespace, { ...spec, targets: { selector: peer.selector, mode: peer.mode ?? 'all', ...(peer.value !== undefined ? { value: peer.value } : {}) } }));
  } catch (err) {
    throw renamed(err);
  }
  const found = new Set<string>();
  for (const t of selected) {
    const d = daemons.byName(t.daemon);
    if (!d) continue;
    try {
      for (const a of await d.addresses(t.target)) found.add(a);
    } catch (err) {
      const reason = `cannot get the addresses of ${t.description}: ${(err as Error).message}`;
      throw ApiError.unprocessable(`${FIELD} ${reason}`, [{ field: FIELD, reason }]);
    }
  }
  return [...found];
}

/** The beforeStart hook: fills `peers` from `peer` (422 naming the field when it resolves to no address, or too many). */
export function peerResolutionHook(targets: TargetResolver, daemons: DaemonRegistry): BeforeStartHook {
  return async (ctx) => {
    const e = ctx.experiment;
    const params = e.spec.fault.params as { peer?: PeerSelector; peers?: string[] } | undefined;
    if (!params?.peer) {
      if (PEERS_REQUIRED.has(e.spec.fault.kind) && !params?.peers?.length) {
        throw ApiError.invalid('invalid experiment: /spec/fault/params/peers is required (or peer)', [{ field: '/spec/fault/params/peers', reason: 'is required (or peer, a selector)' }]);
      }
      return;
    }
    const addresses = await resolvePeers(e.metadata.namespace ?? 'default', e.spec, params.peer, targets, daemons);
    if (addresses.length === 0) throw ApiError.unprocessable(`${FIELD} matches no address`, [{ field: FIELD, reason: 'its targets have no address (no target, or no interface but loopback)' }]);
    const peers = [...new Set([...(params.peers ?? []), ...addresses])];
    if (peers.length > MAX_PEERS) {
      throw ApiError.unprocessable(`${FIELD} resolves to ${peers.length} addresses; at most ${MAX_PEERS}`, [{ field: FIELD, reason: `resolves to ${peers.length} addresses, at most ${MAX_PEERS}: narrow the selector or use mode` }]);
    }
    params.peers = peers;
  };
}

export function attachPeerResolution(engine: Pick<Engine, 'beforeStart'>, targets: TargetResolver, daemons: DaemonRegistry): void {
  engine.beforeStart.push(peerResolutionHook(targets, daemons));
}
