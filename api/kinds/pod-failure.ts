import { Type } from '@sinclair/typebox';
import { defineKind } from './types';

/** Image references as the kubelet takes them: registry/name[:tag][@digest], no spaces or shell characters. */
export const ImageRef = Type.String({
  pattern: '^[a-z0-9]([a-zA-Z0-9._/:@-]{0,253}[a-zA-Z0-9])?$',
  description: 'container image reference, e.g. registry.k8s.io/pause:3.10',
});

export default defineKind({
  kind: 'pod-failure',
  title: 'Pod failure',
  description:
    'Replaces the image of the target containers with a pause image (as Chaos Mesh does): the kubelet restarts them into a process that does nothing. Recover patches the original images back.',
  scope: 'pod',
  targetRequired: true,
  requires: ['k8s'],
  params: Type.Object(
    {
      pauseImage: Type.Optional({ ...ImageRef, description: 'image that replaces the containers\' images; default: the exporter\'s --kubernetes-pause-image' }),
    },
    { additionalProperties: false },
  ),
});
