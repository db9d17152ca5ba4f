import spec from '../../api/kinds/network-corrupt';
import { defineQdiscFault } from './qdisc-fault';

// tc netem corrupt on egress; unsupported (with the reason) where the kernel has no sch_netem.
export default defineQdiscFault(spec, 'netem', (p) => ['corrupt', `${p.percent}%`, `${p.correlation}%`]);
