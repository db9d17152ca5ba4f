import { lstat, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import spec from '../../api/kinds/disk-fill';
import { ApiError } from '../../api/errors';
import { parseSize } from '../../api/units';
import { run } from '../sys/exec';
import { fsSpace, resolveDirectory } from './disk';
import { defineFault } from './types';

type Params = { path: string; size?: string; percent?: number; reserve: string };

/** The real directory and the bytes to fill; refuses (422) when that would leave less than `reserve` free. */
async function plan(p: Params): Promise<{ dir: string; bytes: number }> {
  if ((p.size === undefined) === (p.percent === undefined)) {
    throw ApiError.invalid('invalid request: give exactly one of /params/size and /params/percent', [
      { field: p.size === undefined ? '/params/size' : '/params/percent', reason: 'exactly one of size and percent is required' },
    ]);
  }
  const dir = await resolveDirectory(p.path);
  const { free, total } = await fsSpace(dir);
  const bytes = p.size !== undefined ? parseSize(p.size) : Math.round((total * (p.percent as number)) / 100);
  const reserve = parseSize(p.reserve);
  if (bytes < 1) throw ApiError.invalid('invalid request: /params/size must be more than 0', [{ field: '/params/size', reason: 'must be more than 0' }]);
  if (free - bytes < reserve) {
    throw ApiError.unprocessable(`filling ${bytes} bytes would leave less than the reserve (${reserve} bytes) free on ${p.path}`, [
      { field: p.size !== undefined ? '/params/size' : '/params/percent', reason: `only ${free} bytes free, reserve ${reserve}` },
    ]);
  }
  return { dir, bytes };
}

/** Writes zeros when the file system cannot preallocate (fallocate unsupported). */
async function writeZeros(file: string, bytes: number): Promise<void> {
  const fh = await open(file, 'w');
  try {
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    for (let off = 0; off < bytes; off += chunk.length) await fh.write(chunk, 0, Math.min(chunk.length, bytes - off), off);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// A preallocated file (fallocate: blocks really reserved, no data written) under `path`, removed on recover.
export default defineFault({
  spec,
  async precheck(params) {
    await plan(params);
  },
  async inject(ctx) {
    // resolved again (not trusted from precheck): the journal keeps the real path, never a symlink
    const { dir, bytes } = await plan(ctx.params);
    const file = path.join(dir, `.faultline-fill-${ctx.id}`);
    if (await lstat(file).then(() => true, () => false)) {
      throw ApiError.conflict(`${file} already exists`, [{ field: '/params/path', reason: `already holds ${path.basename(file)}` }]);
    }
    await ctx.save({ file });
    try {
      await run('fallocate', ['-l', String(bytes), file], { timeoutMs: 120_000 });
    } catch {
      await writeZeros(file, bytes);
    }
    return { file, bytes };
  },
  async recover(_ctx, state) {
    if (!state.file) return;
    await unlink(state.file as string).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  },
});
