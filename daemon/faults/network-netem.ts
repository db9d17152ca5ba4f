import type { Static } from '@sinclair/typebox';
import spec from '../../api/kinds/network-netem';
import { ApiError } from '../../api/errors';
import { parseDuration, parseRate } from '../../api/units';
import { defineQdiscFault } from './qdisc-fault';

// Chaos Mesh's netem action as one root netem qdisc; unsupported (with the reason) where the kernel
// has no sch_netem. The argv comes from validated params only, each group as tc-netem(8) spells it.

/** tc netem arguments for the given params (exported for the unit test of the argv). */
export function netemArgs(p: Static<typeof spec.params>): string[] {
  const args: string[] = [];
  if (p.delay) {
    const d = p.delay;
    args.push('delay', `${parseDuration(d.latency)}ms`, `${parseDuration(d.jitter ?? '0ms')}ms`, `${d.correlation ?? 0}%`);
    if (d.reorder) {
      args.push('reorder', `${d.reorder.percent}%`, `${d.reorder.correlation ?? 0}%`);
      if ((d.reorder.gap ?? 0) > 0) args.push('gap', String(d.reorder.gap));
    }
  }
  // `loss random` is netem's independent-loss model; the correlation makes bursts, as in Chaos Mesh
  if (p.loss) args.push('loss', 'random', `${p.loss.percent}%`, `${p.loss.correlation ?? 0}%`);
  if (p.duplicate) args.push('duplicate', `${p.duplicate.percent}%`, `${p.duplicate.correlation ?? 0}%`);
  if (p.corrupt) args.push('corrupt', `${p.corrupt.percent}%`, `${p.corrupt.correlation ?? 0}%`);
  if (p.rate) args.push('rate', `${parseRate(p.rate)}bit`);
  return args;
}

/** The schema's minProperties counts peers too: peers alone would be a netem that does nothing. */
export function checkImpairments(p: Static<typeof spec.params>): void {
  if (!p.delay && !p.loss && !p.duplicate && !p.corrupt && !p.rate) {
    throw ApiError.invalid('invalid params: /params needs at least one of delay, loss, duplicate, corrupt, rate', [{ field: '/params', reason: 'needs at least one of delay, loss, duplicate, corrupt, rate' }]);
  }
}

export default defineQdiscFault(spec, 'netem', netemArgs, checkImpairments);
