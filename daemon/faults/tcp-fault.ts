import spec from '../../api/kinds/tcp-fault';
import { injectProxy, precheckProxy, recoverProxy } from '../proxy/fault';
import { checkToxics } from '../proxy/toxics/check';
import { refuseControlPort } from './control-port';
import { defineFault } from './types';

// A TCP proxy with stackable toxics for the fault's lifetime (daemon/proxy/ holds the proxy itself).
export default defineFault({
  spec,
  async precheck(params, target) {
    checkToxics(params.toxics);
    refuseControlPort(params.port, target.netnsPath);
    await precheckProxy(params, target);
  },
  async inject(ctx) {
    checkToxics(ctx.params.toxics);
    return injectProxy(ctx, { proxy: 'tcp', toxics: ctx.params.toxics });
  },
  async recover(_ctx, state) {
    await recoverProxy(state);
  },
});
