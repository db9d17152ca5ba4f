import type { ErrorDetail } from './errors';

// Where the disk kinds (disk-fill, disk-io-stress) never write: the one list, and the check of a path as
// written (the kinds' `check`: the exporter at create, the panel's form, the daemon). The daemon also
// resolves symlinks on its host (daemon/faults/disk.ts), which only it can do: `/data/link` → `/etc`.

/**
 * Trees the disk kinds never write into, whatever symlink leads there: the root directory itself, the
 * system's configuration, binaries, libraries and boot files, and the kernel's pseudo file systems
 * (/dev also holds /dev/shm, a tmpfs in RAM; /run holds sockets and pid files every service needs).
 * A directory beneath / that is not one of these (/data, /var/lib/app, /tmp, /mnt/x) is fine.
 */
export const SYSTEM_TREES = ['/etc', '/dev', '/proc', '/sys', '/boot', '/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/run'] as const;

/** An absolute path with `.`, `..` and repeated slashes resolved, as path.posix.resolve would (no file system). */
export function normalizeAbsolute(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (!part || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

/** The system tree an absolute, normalized path lies in ("/" for the root itself), else undefined. */
export function systemTreeOf(p: string): string | undefined {
  if (p === '/') return '/';
  return SYSTEM_TREES.find((t) => p === t || p.startsWith(t + '/'));
}

/** Why a disk kind must not write under `dir` as written (field "/path", relative to the params). */
export function diskPathProblems(p: { path: string }): ErrorDetail[] {
  if (!p.path.startsWith('/')) return [{ field: '/path', reason: 'must be an absolute path' }];
  const tree = systemTreeOf(normalizeAbsolute(p.path));
  // /proc/self/cwd and other magic links are in /proc: refused here, before any host resolves them
  return tree ? [{ field: '/path', reason: `is in the system tree ${tree}` }] : [];
}
