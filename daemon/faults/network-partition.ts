import spec from '../../api/kinds/network-partition';
import { checkPeers } from './net';
import { injectTable, nftSupport, protocolPortsCheck, recoverTable } from './nft-fault';
import { defineFault } from './types';

// Drops every matching packet to/from `peers`: an nft table of its own, nothing else touched.
export default defineFault({
  spec,
  support: nftSupport,
  async precheck(params) {
    checkPeers(params.peers);
    protocolPortsCheck(params.protocol, params.ports);
  },
  async inject(ctx) {
    const p = ctx.params;
    return injectTable(ctx, { direction: p.direction, peers: p.peers, ports: p.ports, protocol: p.protocol, interface: ctx.target.interface }, 'drop');
  },
  async recover(_ctx, state) {
    await recoverTable(state);
  },
});
