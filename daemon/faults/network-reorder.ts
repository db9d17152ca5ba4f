import spec from '../../api/kinds/network-reorder';
import { parseDuration } from '../../api/units';
import { defineQdiscFault } from './qdisc-fault';

// tc netem reorder: `percent` of packets go at once, the rest wait `latency`; needs sch_netem.
export default defineQdiscFault(spec, 'netem', (p) => [
  'delay',
  `${parseDuration(p.latency)}ms`,
  'reorder',
  `${p.percent}%`,
  `${p.correlation}%`,
  ...(p.gap > 0 ? ['gap', String(p.gap)] : []),
]);
