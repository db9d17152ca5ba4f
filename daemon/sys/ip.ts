import { readdir, readlink } from 'node:fs/promises';
import { run } from './exec';

// `ip` and network namespace paths.

/** Path of a named netns (created by `ip netns add`). */
export function netnsPathOf(name: string): string {
  return `/run/netns/${name}`;
}

export interface Link {
  name: string;
  up: boolean;
  loopback: boolean;
}

/** Interfaces in a netns (the host's when no path). */
export async function listLinks(netnsPath?: string): Promise<Link[]> {
  const out = await run('ip', ['-j', 'link', 'show'], { netnsPath });
  const rows = JSON.parse(out || '[]') as { ifname: string; flags?: string[]; link_type?: string; operstate?: string }[];
  return rows.map((r) => ({
    name: r.ifname,
    up: (r.flags ?? []).includes('UP'),
    loopback: r.link_type === 'loopback' || (r.flags ?? []).includes('LOOPBACK'),
  }));
}

/**
 * A path that still reaches the network namespace `id` ("net:[...]"): `path` itself while it does,
 * else any process's /proc/<pid>/ns/net in it (the first process may have exited while others keep
 * the namespace alive), else a name under /run/netns. Undefined when the namespace is gone.
 */
export async function reachNetns(path: string | undefined, id: string | undefined): Promise<string | undefined> {
  if (!path) return undefined;
  if (!id) return path;
  const idOf = (p: string) => readlink(p).catch(() => undefined);
  if ((await idOf(path)) === id) return path;
  for (const name of await readdir('/run/netns').catch(() => [] as string[])) {
    if ((await idOf(`/run/netns/${name}`)) === id) return `/run/netns/${name}`;
  }
  for (const pid of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    const p = `/proc/${pid}/ns/net`;
    if ((await idOf(p)) === id) return p;
  }
  return undefined;
}
