import type { DaemonTarget } from '../../api/daemon';
import { kindSpec } from '../../api/kinds/index';
import { run } from '../sys/exec';
import type { Protection } from './protect';
import { resolveTarget } from './targets';

// `POST /v1/addresses`: where a target can be reached — the addresses of its network namespace — so the
// exporter can turn a peer selector into `peers` CIDRs. Read-only; the target is resolved and checked
// exactly as a network fault's would be (a missing or protected one is the same 422 naming the field).

interface IpAddr {
  ifname: string;
  flags?: string[];
  addr_info?: { family: string; local: string; scope?: string }[];
}

export async function addressesOf(target: DaemonTarget, protection: Protection): Promise<string[]> {
  const resolved = await resolveTarget(target, kindSpec('network-partition')!, protection);
  const out = await run('ip', ['-j', 'addr', 'show'], { netnsPath: resolved.netnsPath });
  const links = JSON.parse(out || '[]') as IpAddr[];
  const addrs = new Set<string>();
  for (const l of links) {
    if (l.flags?.includes('LOOPBACK')) continue;
    for (const a of l.addr_info ?? []) if (a.scope !== 'link' && a.scope !== 'host') addrs.add(a.local);
  }
  return [...addrs];
}
