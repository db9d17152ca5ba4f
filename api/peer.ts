import { Type, type Static } from '@sinclair/typebox';
import { Cidr } from './common';
import { LocalSelector, TargetMode } from './experiment';

// The other side of a network fault given as a selector instead of addresses (Chaos Mesh NetworkChaos
// `target:`): the same selector shape and modes as an experiment's `spec.targets`. The exporter resolves
// it to those targets' addresses (pods' IPs in Kubernetes mode, the addresses of the processes' or
// named namespaces' network namespaces on a host) and sends them to the daemons as `peers` CIDRs; a
// daemon never resolves it itself. `direction` keeps its meaning: egress = Chaos Mesh `to` (from the
// target to the peer), ingress = `from` (from the peer into the target), both.

export const PeerSelector = Type.Object(
  {
    selector: LocalSelector,
    mode: Type.Optional(TargetMode),
    value: Type.Optional(Type.String({ pattern: '^[0-9]+$', description: 'count for fixed, percent for the percent modes' })),
  },
  { additionalProperties: false, description: 'the other side as a selector (Chaos Mesh `target`), resolved by the exporter to `peers`' },
);
export type PeerSelector = Static<typeof PeerSelector>;

/**
 * The other side of a tc kind (delay, netem, bandwidth...): only egress toward these addresses is shaped
 * (Chaos Mesh NetworkChaos `target:` / `externalTargets` with direction `to`); without, all egress is.
 */
export const shapedPeerParams = {
  peers: Type.Optional(Type.Array(Cidr, { maxItems: 64, description: 'only egress toward these addresses is affected (default: all egress of the interface)' })),
  peer: Type.Optional(PeerSelector),
};
