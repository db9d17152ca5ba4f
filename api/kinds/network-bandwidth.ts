import { Type } from '@sinclair/typebox';
import { Rate, Size } from '../common';
import { shapedPeerParams } from '../peer';
import { defineKind } from './types';

export default defineKind({
  kind: 'network-bandwidth',
  title: 'Network bandwidth',
  description: 'Limits egress of the target interface to `rate` with a tc tbf qdisc in the target network namespace.',
  scope: 'network',
  targetRequired: false,
  requires: ['tc', 'tbf'],
  params: Type.Object(
    {
      rate: Rate(),
      burst: Size({ default: '32KiB', description: 'bucket size' }),
      limit: Size({ default: '256KiB', description: 'bytes that may queue before drops' }),
      ...shapedPeerParams,
    },
    { additionalProperties: false },
  ),
});
