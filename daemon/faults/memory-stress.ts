import spec from '../../api/kinds/memory-stress';
import { ApiError } from '../../api/errors';
import { parseSizeOrPercent } from '../../api/units';
import { memInfo } from '../sys/proc';
import { MEMORY_CONTROLLERS, precheckCgroup, startStressors, stopStressors, stressorSupport } from './stressors';
import { defineFault } from './types';

/** Memory that must stay available after the stressors took theirs, so the host is never OOM-killed into a crash. */
const RESERVE = 256 * 1024 * 1024;

async function bytesFor(size: string): Promise<number> {
  const { total, available } = await memInfo();
  let bytes: number;
  try {
    bytes = parseSizeOrPercent(size, total);
  } catch (err) {
    throw ApiError.invalid(`invalid request: /params/size ${(err as Error).message}`, [{ field: '/params/size', reason: (err as Error).message }]);
  }
  if (bytes < 1) throw ApiError.invalid('invalid request: /params/size must be more than 0', [{ field: '/params/size', reason: 'must be more than 0' }]);
  if (bytes > available - RESERVE) {
    throw ApiError.unprocessable(`size ${bytes} bytes would leave less than 256MiB of the ${available} bytes available`, [
      { field: '/params/size', reason: `more than the memory available (${available} bytes) minus a 256MiB reserve` },
    ]);
  }
  return bytes;
}

// `workers` stressors that allocate and write `size` in all, so RSS really grows; killed on recover.
export default defineFault({
  spec,
  support: stressorSupport,
  async precheck(params, target) {
    await bytesFor(params.size);
    await precheckCgroup(target, MEMORY_CONTROLLERS);
  },
  async inject(ctx) {
    const bytes = await bytesFor(ctx.params.size);
    const per = Math.ceil(bytes / ctx.params.workers);
    return startStressors(ctx, 'memory', ctx.params.workers, () => [String(per)], MEMORY_CONTROLLERS, { bytes });
  },
  async recover(_ctx, state) {
    await stopStressors(state);
  },
});
