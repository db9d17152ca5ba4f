import { Type } from '@sinclair/typebox';
import { Duration, Percent, Rate } from '../common';
import { shapedPeerParams } from '../peer';
import { defineKind } from './types';

// Chaos Mesh's `netem` action: several netem impairments in one qdisc. Each group is optional but at
// least one must be given; reorder lives inside delay because tc reorders only delayed packets.

const Reorder = Type.Object(
  {
    percent: Percent({ description: 'share of packets sent at once, ahead of the delayed rest' }),
    correlation: Percent({ default: 0 }),
    gap: Type.Integer({ minimum: 0, maximum: 1000, default: 0, description: 'reorder every gap-th packet (0 = random)' }),
  },
  { additionalProperties: false },
);

const PercentWithCorrelation = (what: string) =>
  Type.Object({ percent: Percent({ description: `share of packets ${what}` }), correlation: Percent({ default: 0 }) }, { additionalProperties: false });

export default defineKind({
  kind: 'network-netem',
  title: 'Network netem',
  description:
    'Delay (with jitter, correlation, reorder), loss, duplication, corruption and a rate limit at once, on egress of the target interface: one tc netem qdisc (needs sch_netem).',
  scope: 'network',
  targetRequired: false,
  requires: ['tc', 'netem'],
  params: Type.Object(
    {
      delay: Type.Optional(
        Type.Object(
          {
            latency: Duration(),
            jitter: Duration({ default: '0ms' }),
            correlation: Percent({ default: 0 }),
            reorder: Type.Optional(Reorder),
          },
          { additionalProperties: false },
        ),
      ),
      loss: Type.Optional(PercentWithCorrelation('dropped')),
      duplicate: Type.Optional(PercentWithCorrelation('sent twice')),
      corrupt: Type.Optional(PercentWithCorrelation('with a flipped bit')),
      rate: Type.Optional(Rate({ description: 'egress rate limit, e.g. 8mbit' })),
      ...shapedPeerParams,
    },
    { additionalProperties: false, minProperties: 1, description: 'at least one of delay, loss, duplicate, corrupt, rate' },
  ),
});
