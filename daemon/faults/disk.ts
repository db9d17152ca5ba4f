import { realpath, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { SYSTEM_TREES, systemTreeOf } from '../../api/disk-paths';
import { ApiError } from '../../api/errors';


// Shared by the disk kinds: where they may write, and how much room its file system has.

/**
 * The directory a disk kind writes into, as its real path (symlinks resolved, so the journal names the
 * same place after a restart from another working dir: `/proc/self/cwd` would not). 400 when the path,
 * as given or resolved, is in a system tree; 422 when it does not exist or is not a directory.
 */
export async function resolveDirectory(dir: string, field = '/params/path'): Promise<string> {
  const refuse = (p: string, tree: string) =>
    ApiError.invalid(`invalid request: ${field} ${p} is in ${tree}, a system tree (never filled: ${['/', ...SYSTEM_TREES].join(' ')})`, [
      { field, reason: `is in the system tree ${tree}` },
    ]);
  if (!path.isAbsolute(dir)) throw ApiError.invalid(`invalid request: ${field} must be an absolute path`, [{ field, reason: 'must be an absolute path' }]);
  const given = path.resolve(dir);
  const givenTree = systemTreeOf(given);
  if (givenTree) throw refuse(given, givenTree);
  let real: string;
  try {
    real = await realpath(given);
  } catch {
    throw ApiError.unprocessable(`${dir} does not exist`, [{ field, reason: 'does not exist' }]);
  }
  const realTree = systemTreeOf(real);
  if (realTree) throw refuse(`${dir} (really ${real})`, realTree);
  if (!(await stat(real)).isDirectory()) throw ApiError.unprocessable(`${dir} is not a directory`, [{ field, reason: 'is not a directory' }]);
  return real;
}

/** Free bytes (for unprivileged users) and total size of the file system holding `dir`. */
export async function fsSpace(dir: string): Promise<{ free: number; total: number }> {
  const s = await statfs(dir);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}
