import spec from '../../api/kinds/network-duplicate';
import { defineQdiscFault } from './qdisc-fault';

// tc netem duplicate on egress; unsupported (with the reason) where the kernel has no sch_netem.
export default defineQdiscFault(spec, 'netem', (p) => ['duplicate', `${p.percent}%`, `${p.correlation}%`]);
