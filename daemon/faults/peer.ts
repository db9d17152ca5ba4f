import { ApiError } from '../../api/errors';

// A network kind's other side arrives at a daemon as `peers` (CIDRs). `peer` (a selector, api/peer.ts) is
// resolved by the exporter, which knows the other daemons and Kubernetes, into `peers`; a daemon cannot
// resolve it, so `peer` alone is refused rather than read as "every address" — a partition from the world.

export function checkPeerSides(p: { peers?: readonly string[]; peer?: unknown }, peersRequired: boolean): void {
  if (p.peers?.length) return;
  if (p.peer !== undefined) {
    throw ApiError.unprocessable('/params/peer is a selector the exporter resolves into /params/peers; a daemon needs the addresses', [
      { field: '/params/peer', reason: 'is resolved by the exporter: send peers (CIDRs) to a daemon' },
    ]);
  }
  if (peersRequired) throw ApiError.invalid('invalid request: /params/peers is required (or peer, through the exporter)', [{ field: '/params/peers', reason: 'is required (or peer, through the exporter)' }]);
}
