import spec from '../../api/kinds/network-delay';
import { parseDuration } from '../../api/units';
import { injectQdisc, precheckQdisc, qdiscSupport, recoverQdisc } from './qdisc-fault';
import { defineFault } from './types';

// Delays egress with tc netem; unsupported (with the reason) where the kernel has no sch_netem.
export default defineFault({
  spec,
  support: qdiscSupport('netem'),
  async precheck(_params, target) {
    await precheckQdisc(target);
  },
  async inject(ctx) {
    const p = ctx.params;
    return injectQdisc(ctx, ['netem', 'delay', `${parseDuration(p.latency)}ms`, `${parseDuration(p.jitter)}ms`, `${p.correlation}%`]);
  },
  async recover(_ctx, state) {
    await recoverQdisc(state);
  },
});
