import { access } from 'node:fs/promises';
import { run } from './exec';

// `ip` and network namespace paths.

/** Path of a named netns (created by `ip netns add`). */
export function netnsPathOf(name: string): string {
  return `/run/netns/${name}`;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
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
