import spec from '../../api/kinds/network-delay';
import { parseDuration } from '../../api/units';
import { defineQdiscFault } from './qdisc-fault';

// Delays egress with tc netem; unsupported (with the reason) where the kernel has no sch_netem.
export default defineQdiscFault(spec, 'netem', (p) => ['delay', `${parseDuration(p.latency)}ms`, `${parseDuration(p.jitter)}ms`, `${p.correlation}%`]);
