import type { Static } from '@sinclair/typebox';
import type { V1Pod } from '@kubernetes/client-node';
import { ApiError } from '../../../api/errors';
import spec from '../../../api/kinds/pod-failure';
import { isNotFound } from './client';
import { definePodFault, type PodFaultContext } from './pod-fault';

// As Chaos Mesh does: the target containers' images are patched to a pause image, so the kubelet
// restarts them into a process that does nothing (readiness fails, traffic stops) while the pod
// object, its IP and its volumes stay. The original images are kept in the fault's state *and* in a
// pod annotation written by the same patch, so recovery works even if the exporter lost its state.
// Recover patches back only containers still running the pause image (a later human change wins).

export const ORIGINAL_IMAGES_ANNOTATION = 'faultline.dev/pod-failure-original-images';
/** `{"fault": <daemon fault id>, "pauseImage": ...}`: lets a restarted exporter find and revert faults it no longer holds. */
export const FAULT_ANNOTATION = 'faultline.dev/pod-failure';

/** The fault recorded on a pod by pod-failure, or undefined. */
export function podFailureMark(pod: V1Pod): { fault: string; pauseImage: string } | undefined {
  try {
    const v = JSON.parse(pod.metadata?.annotations?.[FAULT_ANNOTATION] ?? '') as { fault?: unknown; pauseImage?: unknown };
    return typeof v.fault === 'string' && typeof v.pauseImage === 'string' ? { fault: v.fault, pauseImage: v.pauseImage } : undefined;
  } catch {
    return undefined;
  }
}

type Params = Static<typeof spec.params>;
interface State extends Record<string, unknown> {
  uid: string;
  pauseImage: string;
  /** container name → original image */
  images: Record<string, string>;
}

function imagesOf(pod: V1Pod): Map<string, string> {
  return new Map((pod.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']));
}

function savedImages(pod: V1Pod): Record<string, string> {
  try {
    return JSON.parse(pod.metadata?.annotations?.[ORIGINAL_IMAGES_ANNOTATION] ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

async function currentPod(ctx: PodFaultContext<Params>): Promise<V1Pod | undefined> {
  try {
    const pod = await ctx.client.getPod(ctx.target.namespace, ctx.target.name);
    return pod.metadata?.uid === ctx.target.uid ? pod : undefined; // a replacement is not ours
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export default definePodFault<Params, State>({
  spec,
  async inject(ctx) {
    const pauseImage = ctx.params.pauseImage ?? ctx.env.pauseImage;
    const pod = await currentPod(ctx);
    if (!pod) {
      throw ApiError.unprocessable(`pod ${ctx.target.id} no longer exists`, [{ field: '/target', reason: 'pod is gone or was replaced' }]);
    }
    const now = imagesOf(pod);
    // Idempotent: a container already on the pause image keeps the original recorded earlier.
    const images: Record<string, string> = { ...savedImages(pod) };
    for (const c of ctx.target.containers) {
      const image = now.get(c.name);
      if (image !== undefined && image !== pauseImage) images[c.name] = image;
    }
    await ctx.client.patchPod(ctx.target.namespace, ctx.target.name, {
      metadata: { annotations: { [ORIGINAL_IMAGES_ANNOTATION]: JSON.stringify(images), [FAULT_ANNOTATION]: JSON.stringify({ fault: ctx.id, pauseImage }) } },
      spec: { containers: ctx.target.containers.map((c) => ({ name: c.name, image: pauseImage })) },
    });
    return { uid: ctx.target.uid, pauseImage, images };
  },
  async recover(ctx, state) {
    const pod = await currentPod(ctx);
    if (!pod) return; // deleted or replaced: its successor runs the template's images
    const images = { ...savedImages(pod), ...(state.images ?? {}) };
    const pauseImage = state.pauseImage ?? podFailureMark(pod)?.pauseImage ?? ctx.params.pauseImage ?? ctx.env.pauseImage;
    const now = imagesOf(pod);
    const restore = Object.entries(images)
      .filter(([name]) => now.get(name) === pauseImage)
      .map(([name, image]) => ({ name, image }));
    const hasAnnotation = pod.metadata?.annotations?.[ORIGINAL_IMAGES_ANNOTATION] !== undefined || pod.metadata?.annotations?.[FAULT_ANNOTATION] !== undefined;
    if (restore.length === 0 && !hasAnnotation) return;
    await ctx.client.patchPod(ctx.target.namespace, ctx.target.name, {
      // null deletes the key in a strategic merge patch
      metadata: { annotations: { [ORIGINAL_IMAGES_ANNOTATION]: null, [FAULT_ANNOTATION]: null } },
      ...(restore.length ? { spec: { containers: restore } } : {}),
    });
  },
});
