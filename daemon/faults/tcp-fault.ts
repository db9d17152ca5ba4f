import spec from '../../api/kinds/tcp-fault';
import { injectProxy, precheckProxy, recoverProxy } from '../proxy/fault';
import { refuseControlPort } from './control-port';
import { checkKindParams, defineFault } from './types';

// A TCP proxy with stackable toxics for the fault's lifetime (daemon/proxy/ holds the proxy itself).
export default defineFault({
  spec,
  async precheck(params, target) {
    checkKindParams(spec, params);
    refuseControlPort(params.port, target.netnsPath);
    await precheckProxy(params, target);
  },
  async inject(ctx) {
    checkKindParams(spec, ctx.params);
    return injectProxy(ctx, { proxy: 'tcp', toxics: ctx.params.toxics });
  },
  async recover(_ctx, state) {
    await recoverProxy(state);
  },
});
