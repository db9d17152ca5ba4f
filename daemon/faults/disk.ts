import { stat, statfs } from 'node:fs/promises';
import { ApiError } from '../../api/errors';

// Shared by the disk kinds: the target directory must exist, and how much room its file system has.

export async function requireDirectory(dir: string, field = '/params/path'): Promise<void> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw ApiError.unprocessable(`${dir} does not exist`, [{ field, reason: 'does not exist' }]);
  }
  if (!st.isDirectory()) throw ApiError.unprocessable(`${dir} is not a directory`, [{ field, reason: 'is not a directory' }]);
}

/** Free bytes (for unprivileged users) and total size of the file system holding `dir`. */
export async function fsSpace(dir: string): Promise<{ free: number; total: number }> {
  const s = await statfs(dir);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}
