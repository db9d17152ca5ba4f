import net from 'node:net';
import { readFile } from 'node:fs/promises';

// Where a proxied connection goes. Explicit mode: the configured upstream. Transparent mode: the
// address the client originally dialled, before nft redirected it to the proxy. Node cannot call
// getsockopt(SO_ORIGINAL_DST), so the proxy reads the connection's entry in conntrack
// (/proc/net/nf_conntrack, which shows the proxy's own network namespace).

export interface Endpoint {
  host: string;
  port: number;
}

/** Parses "host:port" / "[v6]:port" (already shape-checked by the schema). */
export function parseEndpoint(text: string): Endpoint {
  const m = /^\[?([^\]]*)\]?:([0-9]+)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not host:port`);
  return { host: m[1], port: Number(m[2]) };
}

export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** Canonical text of an IP address (IPv4-mapped IPv6 as IPv4, IPv6 expanded) so conntrack and node agree. */
export function canonicalIp(ip: string): string {
  const v4 = /^(?:::ffff:)?([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)$/i.exec(ip);
  if (v4) return v4[1];
  if (!net.isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

/**
 * The original destination of an accepted, redirected connection: the conntrack entry whose
 * original tuple starts at the client's address and port and whose reply comes from the proxy port.
 */
export async function originalDestination(sock: net.Socket, conntrackPath = '/proc/net/nf_conntrack'): Promise<Endpoint | undefined> {
  return conntrackOriginal('tcp', sock.remoteAddress ?? '', sock.remotePort ?? 0, sock.localPort ?? 0, conntrackPath);
}

/**
 * The same lookup for any protocol (the DNS responder asks it for redirected UDP datagrams too): the
 * destination `client`:`sport` first sent to, before nft redirected it to `redirectedPort`.
 */
export async function conntrackOriginal(
  proto: 'tcp' | 'udp',
  client: string,
  clientPort: number,
  redirectedPort: number,
  conntrackPath = '/proc/net/nf_conntrack',
): Promise<Endpoint | undefined> {
  const src = canonicalIp(client);
  const sport = String(clientPort);
  const proxyPort = String(redirectedPort);
  let text: string;
  try {
    text = await readFile(conntrackPath, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(` ${proto} `) || !line.includes(`sport=${sport} `)) continue;
    const tuples = [...line.matchAll(/src=(\S+) dst=(\S+) sport=([0-9]+) dport=([0-9]+)/g)];
    if (tuples.length < 2) continue;
    const [orig, reply] = tuples;
    if (canonicalIp(orig[1]) === src && orig[3] === sport && reply[3] === proxyPort) {
      return { host: canonicalIp(orig[2]), port: Number(orig[4]) };
    }
  }
  return undefined;
}
