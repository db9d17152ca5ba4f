import spec from '../../api/kinds/network-bandwidth';
import { parseRate, parseSize } from '../../api/units';
import { defineQdiscFault } from './qdisc-fault';

// Limits egress of one interface with a tc tbf root qdisc in the target netns.
export default defineQdiscFault(spec, 'tbf', (p) => ['rate', `${parseRate(p.rate)}bit`, 'burst', String(parseSize(p.burst)), 'limit', String(parseSize(p.limit))]);
