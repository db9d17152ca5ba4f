import { Type } from '@sinclair/typebox';
import { Duration, Percent } from '../common';
import { shapedPeerParams } from '../peer';
import { defineKind } from './types';

export default defineKind({
  kind: 'network-delay',
  title: 'Network delay',
  description: 'Delays egress packets of the target interface with tc netem (needs the kernel module sch_netem).',
  scope: 'network',
  targetRequired: false,
  requires: ['tc', 'netem'],
  params: Type.Object(
    {
      latency: Duration(),
      jitter: Duration({ default: '0ms' }),
      correlation: Percent({ default: 0 }),
      ...shapedPeerParams,
    },
    { additionalProperties: false },
  ),
});
