import { Type } from '@sinclair/typebox';
import { Cidr, Direction, protocolPortsProblems, Percent, Port, Protocol } from '../common';
import { PeerSelector } from '../peer';
import { defineKind } from './types';

export default defineKind({
  kind: 'network-loss',
  title: 'Network loss',
  description: 'Drops `percent` of matching packets with an nft table of its own (numgen random) in the target network namespace.',
  scope: 'network',
  targetRequired: false,
  requires: ['nft'],
  params: Type.Object(
    {
      percent: Percent({ description: 'share of matching packets dropped' }),
      direction: Direction,
      peers: Type.Optional(Type.Array(Cidr, { maxItems: 64, description: 'only traffic to/from these addresses' })),
      peer: Type.Optional(PeerSelector),
      ports: Type.Optional(Type.Array(Port, { maxItems: 64, description: 'only traffic to/from these ports' })),
      protocol: Protocol,
    },
    { additionalProperties: false },
  ),
  check: protocolPortsProblems,
});
