import { Type } from '@sinclair/typebox';
import { defineKind } from './types';

export default defineKind({
  kind: 'pod-kill',
  title: 'Pod kill',
  description:
    'Deletes every target pod through the Kubernetes API (with the grace period given); its controller replaces it. Nothing to undo on recover.',
  scope: 'pod',
  targetRequired: true,
  requires: ['k8s'],
  params: Type.Object(
    {
      gracePeriodSeconds: Type.Integer({
        minimum: 0,
        maximum: 3600,
        default: 0,
        description: 'seconds the pod gets to stop (0 = at once, as Chaos Mesh does)',
      }),
    },
    { additionalProperties: false },
  ),
});
