import { Type } from '@sinclair/typebox';
import { defineKind } from './types';

export default defineKind({
  kind: 'process-pause',
  title: 'Process pause',
  description: 'Stops the target processes with SIGSTOP; SIGCONT on recover, also after a daemon restart.',
  scope: 'process',
  targetRequired: true,
  requires: [],
  params: Type.Object({}, { additionalProperties: false }),
});
