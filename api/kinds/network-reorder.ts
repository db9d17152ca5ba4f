import { Type } from '@sinclair/typebox';
import { Duration, Percent } from '../common';
import { shapedPeerParams } from '../peer';
import { defineKind } from './types';

export default defineKind({
  kind: 'network-reorder',
  title: 'Network reorder',
  description: 'Sends `percent` of egress packets at once and delays the rest by `latency` (tc netem, needs sch_netem).',
  scope: 'network',
  targetRequired: false,
  requires: ['tc', 'netem'],
  params: Type.Object(
    {
      latency: Duration(),
      percent: Percent(),
      correlation: Percent({ default: 0 }),
      gap: Type.Integer({ minimum: 0, maximum: 1000, default: 0, description: 'reorder every gap-th packet (0 = random)' }),
      ...shapedPeerParams,
    },
    { additionalProperties: false },
  ),
});
