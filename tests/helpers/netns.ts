import { execFileSync } from 'node:child_process';

// Test hosts in network namespaces that the test makes itself: two namespaces joined by a veth pair,
// each end with an address of its own. Traffic never leaves these namespaces. Names carry the test
// process id so parallel jest workers never collide; `destroy` removes everything even after a failure.

export interface NetnsPair {
  /** namespace of the "client" side (where faults are usually injected) */
  a: string;
  /** namespace of the "server" side */
  b: string;
  ifA: string;
  ifB: string;
  addrA: string;
  addrB: string;
  destroy(): void;
}

let counter = 0;

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

export function inNetns(ns: string, cmd: string, args: string[], opts: { timeout?: number } = {}): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 60_000 });
}

/** Creates two namespaces joined by a veth pair with 10.<x>.<y>.1/.2 addresses on /30. */
export function makeNetnsPair(tag = 't'): NetnsPair {
  const n = ++counter;
  const id = `${process.pid % 100000}${n}`;
  const a = `fl-${tag}-${id}-a`;
  const b = `fl-${tag}-${id}-b`;
  const ifA = `fa${id}`.slice(0, 15);
  const ifB = `fb${id}`.slice(0, 15);
  const octet2 = 200 + (process.pid % 50);
  const octet3 = n % 250;
  const addrA = `10.${octet2}.${octet3}.1`;
  const addrB = `10.${octet2}.${octet3}.2`;
  const destroy = () => {
    for (const ns of [a, b]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
  };
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('-n', a, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', b);
    ip('-n', a, 'addr', 'add', `${addrA}/30`, 'dev', ifA);
    ip('-n', b, 'addr', 'add', `${addrB}/30`, 'dev', ifB);
    for (const [ns, dev] of [[a, ifA], [b, ifB]] as const) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    destroy();
    throw err;
  }
  return { a, b, ifA, ifB, addrA, addrB, destroy };
}

/** Gives namespace B a second address (<B's /24>.10/32), reached from A by a host route; returns it. */
export function addSecondAddressB(pair: NetnsPair): string {
  const [o1, o2, o3] = pair.addrB.split('.');
  const addr = `${o1}.${o2}.${o3}.10`;
  ip('-n', pair.b, 'addr', 'add', `${addr}/32`, 'dev', pair.ifB);
  ip('-n', pair.a, 'route', 'add', `${addr}/32`, 'dev', pair.ifA);
  return addr;
}

/** Whether this process can make namespaces (root with iproute2). */
export function canUseNetns(): { ok: boolean; reason?: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root' };
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return { ok: false, reason: 'iproute2 (ip) is not installed' };
  }
  return { ok: true };
}
