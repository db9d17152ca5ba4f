import { ApiError, type ErrorCode, type ErrorDetail } from '../../api/errors';
import type { ExperimentSpec } from '../../api/experiment';
import type { PeerSelector } from '../../api/peer';
import type { DaemonRegistry } from '../daemons';
import type { Logger } from 'pino';
import type { BeforeStartHook, Engine } from '../engine/lifecycle';
import type { TargetResolver } from './types';

// Peer selectors (api/peer.ts, Chaos Mesh NetworkChaos `target:`): before each start and scheduled run,
// `spec.fault.params.peer` is resolved like `spec.targets` (same selector, same modes, same resolver:
// processes/netns on the daemons' hosts, or pods in Kubernetes mode), then turned into addresses: in
// Kubernetes mode the pods' IPs from the API server; on a host each selected target's daemon is asked for
// the addresses of its network namespace (`POST /v1/addresses`). Those addresses join
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
  return new ApiError(err.status, err.code as ErrorCode, fix(err.message), err.details?.map((d: ErrorDetail) => ({ ...d, field: fix(d.field) })));
}

export async function resolvePeers(namespace: string, spec: ExperimentSpec, peer: PeerSelector, targets: TargetResolver, daemons: DaemonRegistry): Promise<string[]> {
  const sel = { selector: peer.selector, mode: peer.mode ?? 'all', ...(peer.value !== undefined ? { value: peer.value } : {}) };
  let selected;
  try {
    // Kubernetes mode knows the pods' IPs itself; on a host, the daemons know their namespaces' addresses
    if (targets.addressesOf) return await targets.addressesOf(namespace, sel);
    ({ selected } = await targets.resolve(namespace, { ...spec, targets: sel }));
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

/** How often running experiments' peer selectors are resolved again. */
export const PEER_REFRESH_MS = 10_000;

/**
 * While an experiment runs, its peer selector is resolved again every `everyMs` (pods come and go in
 * Kubernetes mode; processes and namespaces on a host); when the addresses changed, each injected
 * target's fault gets them in place (`PUT /v1/faults/:id/peers`, one atomic nft swap on the daemon).
 * Only mode `all` is followed: re-drawing a random mode would move the partition at every look.
 * A resolution that fails or finds nothing keeps the current peers (logged): never partition from less
 * on a hiccup of the Kubernetes API.
 */
export function startPeerRefresh(
  engine: Pick<Engine, 'list' | 'faultId'>,
  targets: TargetResolver,
  daemons: DaemonRegistry,
  log: Logger,
  everyMs = PEER_REFRESH_MS,
): () => void {
  const current = new Map<string, string>();
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const running = engine.list({ phase: 'Running' });
      const seen = new Set<string>();
      for (const e of running) {
        const params = e.spec.fault.params as { peer?: PeerSelector; peers?: string[] } | undefined;
        if (!params?.peer || (params.peer.mode ?? 'all') !== 'all') continue;
        const uid = e.metadata.uid!;
        seen.add(uid);
        let peers: string[];
        try {
          peers = await resolvePeers(e.metadata.namespace ?? 'default', e.spec, params.peer, targets, daemons);
        } catch (err) {
          log.warn({ experiment: `${e.metadata.namespace}/${e.metadata.name}`, err: (err as Error).message }, 'peer selector not resolved again; peers kept');
          continue;
        }
        if (peers.length === 0 || peers.length > MAX_PEERS) continue;
        const key = [...peers].sort().join(',');
        const before = current.get(uid) ?? [...(params.peers ?? [])].sort().join(',');
        if (key === before) continue;
        let ok = true;
        for (const t of e.status.targets) {
          const d = t.phase === 'Injected' ? daemons.byName(t.daemon) : undefined;
          if (!d) continue;
          try {
            await d.setPeers(engine.faultId(e, t), peers);
          } catch (err) {
            ok = false;
            log.warn({ experiment: `${e.metadata.namespace}/${e.metadata.name}`, target: t.description, err: (err as Error).message }, 'peers not updated on a target');
          }
        }
        if (ok) current.set(uid, key); // else: tried again next time
        log.info({ experiment: `${e.metadata.namespace}/${e.metadata.name}`, peers }, 'peer selector re-resolved: peers updated');
      }
      for (const uid of current.keys()) if (!seen.has(uid)) current.delete(uid);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'peer refresh failed');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The hook, and the refresh of running experiments' peers; returns the refresh's stop. */
export function attachPeerResolution(
  engine: Pick<Engine, 'beforeStart' | 'list' | 'faultId'>,
  targets: TargetResolver,
  daemons: DaemonRegistry,
  log: Logger,
  everyMs?: number,
): () => void {
  engine.beforeStart.push(peerResolutionHook(targets, daemons));
  return startPeerRefresh(engine, targets, daemons, log, everyMs);
}
