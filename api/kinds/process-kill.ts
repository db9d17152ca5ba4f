import { Type } from '@sinclair/typebox';
import { Signal } from '../common';
import { defineKind } from './types';

export default defineKind({
  kind: 'process-kill',
  title: 'Process kill',
  description: 'Sends a signal (SIGKILL by default) to every target process.',
  scope: 'process',
  targetRequired: true,
  requires: [],
  params: Type.Object({ signal: Signal }, { additionalProperties: false }),
});
