import { Type } from '@sinclair/typebox';
import { Signal } from '../common';
import { defineKind } from './types';

export default defineKind({
  kind: 'container-kill',
  title: 'Container kill',
  description:
    'Sends a signal (SIGKILL by default) to the main process of each target container, through the Faultline daemon on the pod\'s node; the kubelet restarts the container.',
  scope: 'pod',
  targetRequired: true,
  requires: ['k8s'],
  params: Type.Object({ signal: Signal }, { additionalProperties: false }),
});
