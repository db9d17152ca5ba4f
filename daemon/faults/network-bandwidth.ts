import spec from '../../api/kinds/network-bandwidth';
import { parseRate, parseSize } from '../../api/units';
import { injectQdisc, precheckQdisc, qdiscSupport, recoverQdisc } from './qdisc-fault';
import { defineFault } from './types';

// Limits egress of one interface with a tc tbf root qdisc in the target netns.
export default defineFault({
  spec,
  support: qdiscSupport('tbf'),
  async precheck(_params, target) {
    await precheckQdisc(target);
  },
  async inject(ctx) {
    const p = ctx.params;
    return injectQdisc(ctx, ['tbf', 'rate', `${parseRate(p.rate)}bit`, 'burst', String(parseSize(p.burst)), 'limit', String(parseSize(p.limit))]);
  },
  async recover(_ctx, state) {
    await recoverQdisc(state);
  },
});
