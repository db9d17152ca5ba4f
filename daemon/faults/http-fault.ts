import spec from '../../api/kinds/http-fault';
import { ApiError } from '../../api/errors';
import { injectProxy, precheckProxy, recoverProxy } from '../proxy/fault';
import { compileMatcher } from '../proxy/http-match';
import { refuseControlPort } from './control-port';
import { defineFault } from './types';

type Params = { delay?: unknown; abort?: unknown; replace?: unknown; match?: Parameters<typeof compileMatcher>[0] };

// An HTTP/1.1 proxy that delays, aborts or rewrites matching requests (daemon/proxy/http-proxy.ts).
function checkRules(p: Params): void {
  compileMatcher(p.match);
  if (!p.delay && !p.abort && !p.replace) {
    throw ApiError.invalid('invalid request: /params needs at least one of delay, abort, replace', [
      { field: '/params/delay', reason: 'give at least one action: delay, abort or replace' },
    ]);
  }
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
