import spec from '../../api/kinds/http-fault';
import { injectProxy, precheckProxy, recoverProxy } from '../proxy/fault';
import { compileMatcher } from '../proxy/http-match';
import { refuseControlPort } from './control-port';
import { checkKindParams, defineFault } from './types';

type Params = { delay?: unknown; abort?: unknown; replace?: unknown; match?: Parameters<typeof compileMatcher>[0] };

// An HTTP/1.1 proxy that delays, aborts or rewrites matching requests (daemon/proxy/http-proxy.ts).
function checkRules(p: Params): void {
  checkKindParams(spec, p); // proxy mode, at least one action (api/kinds/http-fault.ts)
  compileMatcher(p.match);
}

export default defineFault({
  spec,
  async precheck(params, target) {
    checkRules(params);
    refuseControlPort(params.port, target.netnsPath);
    await precheckProxy(params, target);
  },
  async inject(ctx) {
    const { match, delay, abort, replace } = ctx.params;
    checkRules(ctx.params);
    return injectProxy(ctx, { proxy: 'http', http: { match, delay, abort, replace } });
  },
  async recover(_ctx, state) {
    await recoverProxy(state);
  },
});
