import spec from '../../api/kinds/network-loss';
import { defineNftFault } from './nft-fault';
import { lossVerdict } from './nft-rules';

// Drops `percent` of the matching packets: an nft table of its own with `numgen random`.
export default defineNftFault(spec, (p) => lossVerdict(p.percent));
