import spec from '../../api/kinds/network-partition';
import { defineNftFault } from './nft-fault';

// Drops every matching packet to/from `peers`: an nft table of its own, nothing else touched.
export default defineNftFault(spec, () => 'drop', { peersRequired: true });
