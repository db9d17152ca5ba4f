import spec from '../../api/kinds/network-duplicate';
import { injectQdisc, precheckQdisc, qdiscSupport, recoverQdisc } from './qdisc-fault';
import { defineFault } from './types';

// tc netem duplicate on egress; unsupported (with the reason) where the kernel has no sch_netem.
export default defineFault({
  spec,
  support: qdiscSupport('netem'),
  async precheck(_params, target) {
    await precheckQdisc(target);
  },
  async inject(ctx) {
    return injectQdisc(ctx, ['netem', 'duplicate', `${ctx.params.percent}%`, `${ctx.params.correlation}%`]);
  },
  async recover(_ctx, state) {
    await recoverQdisc(state);
  },
});
