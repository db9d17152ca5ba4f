import type net from 'node:net';
import { originalDestination, type Endpoint } from './endpoint';

// Picks the upstream of an accepted connection (see endpoint.ts for the transparent case).
export type UpstreamResolver = (client: net.Socket) => Promise<Endpoint | undefined>;

export function fixedUpstream(e: Endpoint): UpstreamResolver {
  return async () => e;
}

/**
 * Transparent mode: the original destination from conntrack; without an entry (e.g. someone
 * connected to the proxy port directly) the target port on the address the client reached.
 */
export function transparentUpstream(targetPort: number): UpstreamResolver {
  return async (client) => (await originalDestination(client)) ?? { host: client.localAddress ?? '127.0.0.1', port: targetPort };
}
