import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import spec from '../../api/kinds/disk-io-stress';
import { ApiError } from '../../api/errors';
import { parseSize } from '../../api/units';
import { fsSpace, resolveDirectory } from './disk';
import { IO_CONTROLLERS, precheckCgroup, startStressors, stopStressors, stressorSupport } from './stressors';
import { defineFault } from './types';

const RESERVE = 64 * 1024 * 1024;

// `workers` processes doing synced I/O on files in a temp dir under `path`; the dir is removed on recover.
export default defineFault({
  spec,
  support: stressorSupport,
  async precheck(params, target) {
    const real = await resolveDirectory(params.path);
    const need = params.workers * parseSize(params.size);
    const { free } = await fsSpace(real);
    if (free - need < RESERVE) {
      throw ApiError.unprocessable(`${params.workers} × ${params.size} would leave less than 64MiB free on ${params.path}`, [
        { field: '/params/size', reason: `only ${free} bytes free` },
      ]);
    }
    await precheckCgroup(target, IO_CONTROLLERS);
  },
  async inject(ctx) {
    const dir = path.join(await resolveDirectory(ctx.params.path), `.faultline-io-${ctx.id}`);
    await ctx.save({ dir, stressors: [] });
    await mkdir(dir, { recursive: true });
    const bytes = parseSize(ctx.params.size);
    return startStressors(ctx, 'io', ctx.params.workers, () => [dir, String(bytes), ctx.params.mode], IO_CONTROLLERS, { dir });
  },
  async recover(_ctx, state) {
    await stopStressors(state);
    if (state.dir) await rm(state.dir as string, { recursive: true, force: true });
  },
});
