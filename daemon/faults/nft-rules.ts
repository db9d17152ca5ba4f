import { exemptionRules, type ControlEndpoint } from './control-port';
import { splitFamilies } from './net';

// Builds the nft table of a network-loss or network-partition fault. One table per fault, named
// after the fault id, family inet (IPv4 and IPv6). Matching packets `goto` a verdict chain, so a
// packet that matches several rules (dport and sport) still gets exactly one chance to be dropped.
// The daemon's own control traffic is accepted first in its own namespace (see control-port.ts).

export interface TrafficMatch {
  direction: 'ingress' | 'egress' | 'both';
  peers?: string[];
  ports?: number[];
  protocol: 'all' | 'tcp' | 'udp' | 'icmp';
  /** Only this interface; without it every interface but loopback. */
  interface?: string;
  /** Daemon endpoints whose TCP traffic is accepted before any fault rule (control-port.ts). */
  exempt?: readonly ControlEndpoint[];
}

export function tableName(id: string): string {
  return `faultline-${id}`;
}

/** `numgen random` verdict dropping `percent` % (hundredths kept for fractional percents). */
export function lossVerdict(percent: number): string {
  if (percent >= 100) return 'drop'; // nft's `mod 100 < 100` is out of range
  if (Number.isInteger(percent)) return `numgen random mod 100 < ${percent} drop`;
  return `numgen random mod 10000 < ${Math.round(percent * 100)} drop`;
}

function rulesFor(way: 'ingress' | 'egress', m: TrafficMatch): string[] {
  const ifKey = way === 'egress' ? 'oifname' : 'iifname';
  const addrKey = way === 'egress' ? 'daddr' : 'saddr';
  const iface = m.interface ? `${ifKey} "${m.interface}"` : `${ifKey} != "lo"`;
  const { v4, v6 } = splitFamilies(m.peers);
  const peerParts = m.peers?.length
    ? [...(v4.length ? [`ip ${addrKey} { ${v4.join(', ')} }`] : []), ...(v6.length ? [`ip6 ${addrKey} { ${v6.join(', ')} }`] : [])]
    : [''];
  const proto =
    m.protocol === 'tcp' ? 'meta l4proto tcp' : m.protocol === 'udp' ? 'meta l4proto udp' : m.protocol === 'icmp' ? 'meta l4proto { icmp, ipv6-icmp }' : m.ports?.length ? 'meta l4proto { tcp, udp }' : '';
  const portParts = m.ports?.length ? [`th dport { ${m.ports.join(', ')} }`, `th sport { ${m.ports.join(', ')} }`] : [''];
  const rules: string[] = [];
  for (const peer of peerParts) for (const port of portParts) rules.push([iface, peer, proto, port, 'goto fault'].filter(Boolean).join(' '));
  return rules;
}

/** The whole table as an nft script, loaded atomically with `nft -f -`. */
export function buildTable(table: string, m: TrafficMatch, verdict: string): string {
  const chain = (name: string, hook: string, rules: string[]) =>
    `  chain ${name} {\n    type filter hook ${hook} priority -300; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n`;
  let out = `table inet ${table} {\n  chain fault {\n    ${verdict}\n  }\n`;
  const exempt = m.exempt ?? [];
  if (m.direction !== 'ingress') out += chain('egress', 'output', [...exemptionRules('egress', exempt), ...rulesFor('egress', m)]);
  if (m.direction !== 'egress') out += chain('ingress', 'input', [...exemptionRules('ingress', exempt), ...rulesFor('ingress', m)]);
  return out + '}\n';
}
