import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { ApiError } from '../../api/errors';

// The daemon's control port is exempt from network faults. A network-loss or partition in the network
// namespace the daemon itself listens in (a daemon on a host, reached over the host's NIC) would
// otherwise drop the requests that stop it: the exporter's DELETE would time out and the fault would
// end only when its lease ran out. So every nft fault table in the daemon's own namespace accepts the
// daemon's control traffic (TCP to its listen port, and the answers from it) before its fault rules.
// Refusing such faults instead would forbid the most ordinary network fault there is (on the host).
// Other namespaces are not touched: the port there belongs to somebody else, and traffic the host
// forwards to them never passes the input/output hooks of the daemon's namespace.

export interface ControlEndpoint {
  /** The listen address; a wildcard (0.0.0.0, ::) or a host name exempts the port on every address. */
  host: string;
  port: number;
}

const endpoints = new Set<ControlEndpoint>();

/** Registers a listening daemon's endpoint (daemon/index.ts, once listening); returns its removal. */
export function exemptControlEndpoint(e: ControlEndpoint): () => void {
  const entry = { ...e };
  endpoints.add(entry);
  return () => void endpoints.delete(entry);
}

function inode(p: string): string | undefined {
  try {
    const st = statSync(p);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The daemon endpoints a fault in `netnsPath` (undefined: the daemon's own namespace) could cut, and so
 * must let through: all of them in the daemon's own namespace (compared by the namespace's inode, so
 * /proc/1/ns/net or a /run/netns name of the same namespace count too), none elsewhere.
 */
export function controlEndpointsIn(netnsPath?: string): ControlEndpoint[] {
  if (!endpoints.size) return [];
  if (netnsPath !== undefined) {
    const target = inode(netnsPath);
    if (!target || target !== inode('/proc/self/ns/net')) return [];
  }
  return [...endpoints];
}

/**
 * nft rules accepting the control traffic, one pair per endpoint: `ingress` for requests reaching the
 * port, `egress` for the answers leaving it. With a specific address only that address is exempt.
 */
export function exemptionRules(way: 'ingress' | 'egress', list: readonly ControlEndpoint[]): string[] {
  const portKey = way === 'ingress' ? 'dport' : 'sport';
  const addrKey = way === 'ingress' ? 'daddr' : 'saddr';
  return list.map((e) => {
    const fam = isIP(e.host);
    const wildcard = e.host === '0.0.0.0' || e.host === '::' || fam === 0;
    const addr = wildcard ? '' : `${fam === 6 ? 'ip6' : 'ip'} ${addrKey} ${e.host} `;
    return `${addr}tcp ${portKey} ${e.port} accept`;
  });
}

/**
 * A transparent proxy fault (tcp-fault, http-fault with `port`) on the daemon's own port in its own
 * namespace would route the control traffic through the proxy and its toxics (a `timeout` toxic cuts
 * it): refused before anything is journaled, 400 naming /params/port.
 */
export function refuseControlPort(port: number | undefined, netnsPath: string | undefined): void {
  if (port === undefined) return;
  const hit = controlEndpointsIn(netnsPath).find((e) => e.port === port);
  if (!hit) return;
  const reason = `is the daemon's own control port (${hit.host}:${hit.port}): redirecting it would cut the requests that stop the fault`;
  throw ApiError.invalid(`invalid request: /params/port ${reason}`, [{ field: '/params/port', reason }]);
}
