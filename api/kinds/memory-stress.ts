import { Type } from '@sinclair/typebox';
import { SizeOrPercent } from '../common';
import { defineKind } from './types';

export default defineKind({
  kind: 'memory-stress',
  title: 'Memory stress',
  description: 'Stressor processes that allocate and touch `size` of memory in all (RSS really grows).',
  scope: 'host',
  targetRequired: false,
  requires: [],
  params: Type.Object(
    {
      size: SizeOrPercent({ description: 'total to allocate across workers: 256MiB, or 20% of memory' }),
      workers: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
    },
    { additionalProperties: false },
  ),
});
