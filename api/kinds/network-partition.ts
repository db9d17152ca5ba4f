import { Type } from '@sinclair/typebox';
import { Cidr, Direction, protocolPortsProblems, Port, Protocol } from '../common';
import { PeerSelector } from '../peer';
import { defineKind } from './types';

export default defineKind({
  kind: 'network-partition',
  title: 'Network partition',
  description:
    'Drops all traffic between the target network namespace and `peers` (optionally only some ports). The other side may be a selector (`peer`, Chaos Mesh `target`): the exporter resolves it to addresses and adds them to `peers`.',
  scope: 'network',
  targetRequired: false,
  requires: ['nft'],
  params: Type.Object(
    {
      peers: Type.Optional(Type.Array(Cidr, { minItems: 1, maxItems: 64, description: 'addresses cut off from the target (required unless `peer` is given)' })),
      peer: Type.Optional(PeerSelector),
      direction: Direction,
      ports: Type.Optional(Type.Array(Port, { maxItems: 64 })),
      protocol: Protocol,
    },
    { additionalProperties: false },
  ),
  check: protocolPortsProblems,
});
