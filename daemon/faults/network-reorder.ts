import spec from '../../api/kinds/network-reorder';
import { parseDuration } from '../../api/units';
import { injectQdisc, precheckQdisc, qdiscSupport, recoverQdisc } from './qdisc-fault';
import { defineFault } from './types';

// tc netem reorder: `percent` of packets go at once, the rest wait `latency`; needs sch_netem.
export default defineFault({
  spec,
  support: qdiscSupport('netem'),
  async precheck(_params, target) {
    await precheckQdisc(target);
  },
  async inject(ctx) {
    const p = ctx.params;
    const args = ['netem', 'delay', `${parseDuration(p.latency)}ms`, 'reorder', `${p.percent}%`, `${p.correlation}%`];
    if (p.gap > 0) args.push('gap', String(p.gap));
    return injectQdisc(ctx, args);
  },
  async recover(_ctx, state) {
    await recoverQdisc(state);
  },
});
