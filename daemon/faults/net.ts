import { isIP } from 'node:net';
import { cidrProblem } from '../../api/addresses';
import { ApiError, type ErrorDetail } from '../../api/errors';
import { listLinks } from '../sys/ip';
import { ToolError } from '../sys/exec';
import type { ResolvedTarget } from './types';

// Helpers the network kinds share: peer address checks, and which interface a tc kind acts on.

/** Checks each peer is a real IPv4/IPv6 address or CIDR (the schema pattern only checks the shape). */
export function checkPeers(peers: readonly string[] | undefined, field = '/params/peers'): void {
  const details: ErrorDetail[] = [];
  (peers ?? []).forEach((p, i) => {
    const reason = cidrProblem(p); // api/addresses.ts: the check the schema's cidr format makes
    if (reason) details.push({ field: `${field}/${i}`, reason });
  });
  if (details.length) throw ApiError.invalid(`invalid request: ${details[0].field} ${details[0].reason}`, details);
}

export function splitFamilies(peers: readonly string[] | undefined): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const p of peers ?? []) (isIP(p.split('/')[0]) === 6 ? v6 : v4).push(p);
  return { v4, v6 };
}

/**
 * The interface a tc kind acts on: the target's `interface` (which must exist), or else the only
 * non-loopback interface of the netns. Throws 422 naming /target/interface otherwise.
 */
export async function pickInterface(target: ResolvedTarget): Promise<string> {
  let links;
  try {
    links = await listLinks(target.netnsPath);
  } catch (err) {
    const reason = err instanceof ToolError ? err.stderr.trim() : String(err);
    throw ApiError.unprocessable(`cannot list interfaces of the target network namespace: ${reason}`, [{ field: '/target/netns', reason }]);
  }
  if (target.interface) {
    if (!links.some((l) => l.name === target.interface)) {
      throw ApiError.unprocessable(`interface ${target.interface} does not exist in the target network namespace`, [
        { field: '/target/interface', reason: 'no such interface in the target network namespace' },
      ]);
    }
    return target.interface;
  }
  const candidates = links.filter((l) => !l.loopback);
  if (candidates.length !== 1) {
    throw ApiError.invalid('the target network namespace has several interfaces: name one', [
      { field: '/target/interface', reason: `is required (candidates: ${candidates.map((l) => l.name).join(', ') || 'none'})` },
    ]);
  }
  return candidates[0].name;
}
