import spec from '../../api/kinds/network-loss';
import { checkPeers } from './net';
import { injectTable, nftSupport, protocolPortsCheck, recoverTable } from './nft-fault';
import { lossVerdict } from './nft-rules';
import { defineFault } from './types';

// Drops `percent` of the matching packets: an nft table of its own with `numgen random`.
export default defineFault({
  spec,
  support: nftSupport,
  async precheck(params) {
    checkPeers(params.peers);
    protocolPortsCheck(params.protocol, params.ports);
  },
  async inject(ctx) {
    const p = ctx.params;
    return injectTable(ctx, { direction: p.direction, peers: p.peers, ports: p.ports, protocol: p.protocol, interface: ctx.target.interface }, lossVerdict(p.percent));
  },
  async recover(_ctx, state) {
    await recoverTable(state);
  },
});
