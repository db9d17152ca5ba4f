import { Type } from '@sinclair/typebox';
import { Percent } from '../common';
import { defineKind } from './types';

export default defineKind({
  kind: 'cpu-stress',
  title: 'CPU stress',
  description: 'Stressor processes that each keep one CPU busy at `load` percent; placed in the target cgroup when there is one.',
  scope: 'host',
  targetRequired: false,
  requires: [],
  params: Type.Object(
    {
      workers: Type.Integer({ minimum: 1, maximum: 256, default: 1, description: 'stressor processes, one CPU each' }),
      load: Percent({ minimum: 1, default: 100, description: 'busy share of each worker, 1–100 %' }),
    },
    { additionalProperties: false },
  ),
});
