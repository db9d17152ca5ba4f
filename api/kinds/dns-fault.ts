import { Type } from '@sinclair/typebox';
import { Percent } from '../common';
import { defineKind } from './types';

// Chaos Mesh's DNSChaos, on one network namespace: DNS queries leaving it are answered by a responder of
// the fault's own, which fails (or falsifies) the names that match `patterns` and forwards the others
// unchanged to the resolver they were sent to.

/** One label of a pattern: DNS name characters plus `?`, Chaos Mesh's one-character placeholder. */
const LABEL = '[A-Za-z0-9_?-]{1,63}';

/**
 * A DNS name as Chaos Mesh writes DNSChaos patterns: `?` stands for one character, `*` for any run of
 * characters (dots too) and may end the pattern (`github.*`, `chaos-*`); a leading `*.` (any subdomain:
 * `*.example.com`) and a lone `*` (every name) are accepted as well. Case-insensitive, trailing dot optional.
 * Dots delimit the labels, so the pattern is linear to match against any input.
 */
export const DNS_NAME_PATTERN = `^(\\*|(\\*\\.)?(${LABEL}\\.)*(${LABEL}|[A-Za-z0-9_?-]{0,62}\\*)\\.?)$`;

export const DnsPattern = Type.String({
  pattern: DNS_NAME_PATTERN,
  maxLength: 255,
  description: 'a DNS name; `?` = one character, `*` = any characters (at the end, as a leading `*.`, or alone for every name)',
});

export default defineKind({
  kind: 'dns-fault',
  title: 'DNS fault',
  description:
    'DNS queries leaving the target network namespace (UDP and TCP port 53, to whatever resolver) are redirected by an nft table of the ' +
    'fault\'s own to a responder the daemon runs for the fault\'s lifetime. Names matching `patterns` get an error (`action: error`) or a ' +
    'random address (`action: random`); other names are forwarded unchanged to the resolver they were sent to (Chaos Mesh DNSChaos).',
  scope: 'network',
  targetRequired: false,
  requires: ['nft'],
  params: Type.Object(
    {
      action: Type.Union([Type.Literal('error'), Type.Literal('random')], {
        description:
          'error: the query is answered with `rcode`; random: A and AAAA queries get a random address from the documentation ranges ' +
          '(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32: never routed, so nothing real is reached), other types an empty answer',
      }),
      patterns: Type.Array(DnsPattern, { minItems: 1, maxItems: 64, description: 'names to fault (Chaos Mesh DNSChaos patterns; `*` for every name)' }),
      rcode: Type.Optional(
        // No schema `default`: it would be filled in for action random too, which takes no rcode.
        Type.Union([Type.Literal('NXDOMAIN'), Type.Literal('SERVFAIL')], {
          description: 'action error only: the answer code, NXDOMAIN (no such name; the default when left out) or SERVFAIL (the resolver failed)',
        }),
      ),
      percent: Type.Optional(Percent({ default: 100, description: 'share of matching queries that are faulted, 0–100 (default 100)' })),
    },
    { additionalProperties: false },
  ),
});
