import { Type } from '@sinclair/typebox';
import { Percent } from '../common';
import { shapedPeerParams } from '../peer';
import { defineKind } from './types';

export default defineKind({
  kind: 'network-duplicate',
  title: 'Network duplicate',
  description: 'Duplicates `percent` of egress packets with tc netem (needs sch_netem).',
  scope: 'network',
  targetRequired: false,
  requires: ['tc', 'netem'],
  params: Type.Object({ percent: Percent(), correlation: Percent({ default: 0 }), ...shapedPeerParams }, { additionalProperties: false }),
});
