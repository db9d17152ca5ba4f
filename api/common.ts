import { Type } from '@sinclair/typebox';
import type { ErrorDetail } from './errors';
import { DURATION_PATTERN, RATE_PATTERN, SIZE_OR_PERCENT_PATTERN, SIZE_PATTERN } from './units';

// Small building blocks shared by the wire schemas. Anything that ends up in an argv, a file
// name or an nft/tc object name is constrained here, so no caller has to escape anything.

export const Duration = (opts: { description?: string; default?: string } = {}) =>
  Type.String({ pattern: DURATION_PATTERN, format: 'duration', description: 'Go-style duration, e.g. 500ms, 30s, 5m', ...opts });

export const Size = (opts: { description?: string; default?: string } = {}) =>
  Type.String({ pattern: SIZE_PATTERN, format: 'size', description: 'size, e.g. 512KiB, 256MiB, 1G', ...opts });

export const SizeOrPercent = (opts: { description?: string; default?: string } = {}) =>
  Type.String({ pattern: SIZE_OR_PERCENT_PATTERN, description: 'size (256MiB) or share of the total (20%)', ...opts });

export const Rate = (opts: { description?: string; default?: string } = {}) =>
  Type.String({ pattern: RATE_PATTERN, format: 'rate', description: 'rate as tc writes it, e.g. 512kbit, 8mbit, 1gbit', ...opts });

export const Percent = (opts: { description?: string; default?: number; minimum?: number } = {}) =>
  Type.Number({ minimum: 0, maximum: 100, description: 'percent, 0–100', ...opts });

/** Names that become nft tables, tc handles, file names: lowercase DNS-label style. */
export const ObjectName = Type.String({
  pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$',
  description: 'lowercase letters, digits and dashes, at most 63',
});

export const InterfaceName = Type.String({
  pattern: '^[a-zA-Z0-9_.-]{1,15}$',
  description: 'a network interface name, e.g. eth0, veth-a',
});

export const NetnsRef = Type.String({
  pattern: '^([a-zA-Z0-9_.-]{1,64}|/proc/[0-9]+/ns/net)$',
  description: 'a name under /run/netns or /proc/<pid>/ns/net',
});

export const CgroupPath = Type.String({
  // not empty: "" meant the root cgroup to the daemon, yet passed the exporter's own-cgroup check ("/" is the root)
  minLength: 1,
  pattern: '^/?[a-zA-Z0-9_.:@=/-]{0,512}$',
  description: 'a cgroup path relative to the hierarchy root, e.g. /system.slice/app.service',
});

export const Cidr = Type.String({
  pattern: '^(([0-9]{1,3}\\.){3}[0-9]{1,3}(/[0-9]{1,2})?|[0-9a-fA-F:]+(/[0-9]{1,3})?)$',
  description: 'an IPv4 or IPv6 address or CIDR, e.g. 10.0.0.0/8',
  // the pattern takes the shape; the format (api/validate.ts) refuses 999.1.1.1, 10.0.0.0/33, :::
  format: 'cidr',
});

export const Port = Type.Integer({ minimum: 1, maximum: 65535 });

export const Direction = Type.Union([Type.Literal('ingress'), Type.Literal('egress'), Type.Literal('both')], {
  default: 'both',
  description: 'traffic into the target, out of it, or both',
});

export const Protocol = Type.Union([Type.Literal('all'), Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('icmp')], {
  default: 'all',
});

/** The nft kinds' `check`: ports exist only for tcp and udp (fields relative to params). */
export function protocolPortsProblems(p: { protocol?: string; ports?: readonly number[] }): ErrorDetail[] {
  return p.ports?.length && p.protocol === 'icmp' ? [{ field: '/ports', reason: 'ports need protocol tcp, udp or all (not icmp)' }] : [];
}

export const SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGABRT'] as const;
export const Signal = Type.Union(
  SIGNALS.map((s) => Type.Literal(s)),
  { default: 'SIGKILL' },
);
