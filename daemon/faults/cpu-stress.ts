import spec from '../../api/kinds/cpu-stress';
import { CPU_CONTROLLERS, precheckCgroup, startStressors, stopStressors, stressorSupport } from './stressors';
import { defineFault } from './types';

// `workers` stressor processes, each holding one CPU at `load` % of its own CPU time,
// placed in the target's cpu cgroup when a target is given.
export default defineFault({
  spec,
  support: stressorSupport,
  async precheck(_params, target) {
    await precheckCgroup(target, CPU_CONTROLLERS);
  },
  async inject(ctx) {
    return startStressors(ctx, 'cpu', ctx.params.workers, () => [String(ctx.params.load)], CPU_CONTROLLERS);
  },
  async recover(_ctx, state) {
    await stopStressors(state);
  },
});
