import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { KubeClient } from './client';
import type { PodTarget } from './select';

// Kubernetes Events on the target pods, so `kubectl describe pod` and any event exporter show
// when Faultline injected and recovered a fault. Best effort: a failed event is logged, never
// allowed to fail or delay the fault itself.

export type FaultEventReason = 'FaultInjected' | 'FaultRecovered' | 'FaultFailed';

export interface FaultEventInput {
  reason: FaultEventReason;
  /** e.g. `pod-kill injected by experiment default/kill-web` */
  message: string;
  kind: string;
}

export const EVENT_COMPONENT = 'faultline';

export function podEvent(target: PodTarget, input: FaultEventInput, now = new Date()) {
  return {
    metadata: { name: `${target.name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`, namespace: target.namespace },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: target.name, namespace: target.namespace, uid: target.uid },
    reason: input.reason,
    message: input.message,
    type: input.reason === 'FaultFailed' ? 'Warning' : 'Normal',
    action: input.reason === 'FaultRecovered' ? 'Recover' : 'Inject',
    source: { component: EVENT_COMPONENT },
    reportingComponent: 'faultline.dev/exporter',
    reportingInstance: hostname(),
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

export async function recordPodEvent(client: KubeClient, target: PodTarget, input: FaultEventInput, log?: Logger): Promise<void> {
  try {
    await client.createEvent(target.namespace, podEvent(target, input));
  } catch (err) {
    log?.warn({ err: (err as Error).message, pod: target.id, reason: input.reason }, 'could not record a Kubernetes event');
  }
}
