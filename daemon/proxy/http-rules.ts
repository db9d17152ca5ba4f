import type { Static } from '@sinclair/typebox';
import type { HttpAbort, HttpDelay, HttpMatch, HttpReplace } from '../../api/proxy';
import { parseDuration } from '../../api/units';
import { REQUEST_FRAMING_HEADERS } from './http-parse';
import { compileMatcher, matchedHeaderNames, type RequestMatcher } from './http-match';

// An http-fault's rule as the proxy child gets it (params, checked by the daemon), and the same
// compiled once per proxy: the matcher, the request headers a head scan must pick out, durations
// in milliseconds. What the proxy does with a request that matches is in http-proxy.ts.

export interface HttpRules {
  match?: Static<typeof HttpMatch>;
  delay?: Static<typeof HttpDelay>;
  abort?: Static<typeof HttpAbort>;
  replace?: Static<typeof HttpReplace>;
}

export type HttpReplaceRule = NonNullable<HttpRules['replace']>;

export interface CompiledRules {
  matches: RequestMatcher;
  /** Request headers to extract: framing plus those the matcher reads. */
  wanted: readonly string[];
  delay?: { latency: number; jitter: number; percent: number };
  abort?: HttpRules['abort'];
  replace?: HttpRules['replace'];
}

export function compileRules(rules: HttpRules): CompiledRules {
  return {
    matches: compileMatcher(rules.match),
    wanted: [...new Set<string>([...REQUEST_FRAMING_HEADERS, ...matchedHeaderNames(rules.match)])],
    delay: rules.delay && { latency: parseDuration(rules.delay.latency), jitter: parseDuration(rules.delay.jitter ?? '0ms'), percent: rules.delay.percent ?? 100 },
    abort: rules.abort,
    replace: rules.replace,
  };
}

/** Whether an action with this `percent` applies to this request. */
export function hit(percent: number): boolean {
  return percent >= 100 || Math.random() * 100 < percent;
}

/** The delay of one delayed request in ms: latency ± jitter, never negative. */
export function delayMs(delay: NonNullable<CompiledRules['delay']>): number {
  return Math.max(0, delay.latency + (delay.jitter ? (Math.random() * 2 - 1) * delay.jitter : 0));
}
