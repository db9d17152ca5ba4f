import { ApiError } from '../../../api/errors';
import type { KubeClient } from './client';
import type { DaemonCaller, DaemonRef } from './pod-fault';

// Finding the daemon on a pod's node: the DaemonSet's pod with the same spec.nodeName, in
// Faultline's namespace, picked by its labels. The daemon runs with hostNetwork, so its pod IP is
// the node's IP and the port is the one the DaemonSet declares (default 9471).

export interface DaemonLocator {
  namespace: string;
  /** Label selector of the DaemonSet's pods, e.g. app.kubernetes.io/name=faultline-daemon */
  labelSelector: string;
  port: number;
  scheme?: 'http' | 'https';
}

export async function daemonForNode(client: KubeClient, loc: DaemonLocator, node: string): Promise<DaemonRef> {
  const pods = await client.listPods(loc.namespace, loc.labelSelector, `spec.nodeName=${node}`);
  const ready = pods.find(
    (p) => p.spec?.nodeName === node && p.status?.phase === 'Running' && p.status?.podIP && !p.metadata?.deletionTimestamp,
  );
  if (!ready) {
    throw ApiError.unprocessable(`no running Faultline daemon on node ${node}`, [
      { field: '/target', reason: `no pod matching ${loc.labelSelector} runs on node ${node} in ${loc.namespace}` },
    ]);
  }
  const ip = ready.status?.podIP as string;
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return { url: `${loc.scheme ?? 'http'}://${host}:${loc.port}`, node };
}

/** A minimal daemon client (bearer token); the exporter may hand in its own instead. */
export function fetchDaemonCaller(token?: string): DaemonCaller {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  async function fail(res: Response, what: string): Promise<never> {
    const text = await res.text();
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status >= 500 ? 502 : res.status, 'daemon_error', `${what}: HTTP ${res.status}: ${message}`);
  }
  return {
    async createFault(daemon, request) {
      const res = await fetch(`${daemon.url}/v1/faults`, { method: 'POST', headers, body: JSON.stringify(request), signal: AbortSignal.timeout(15_000) });
      if (!res.ok) await fail(res, `daemon on ${daemon.node}`);
      return res.json();
    },
    async deleteFault(daemon, id) {
      const res = await fetch(`${daemon.url}/v1/faults/${encodeURIComponent(id)}`, { method: 'DELETE', headers, signal: AbortSignal.timeout(15_000) });
      if (!res.ok && res.status !== 404) await fail(res, `daemon on ${daemon.node}`);
    },
  };
}
