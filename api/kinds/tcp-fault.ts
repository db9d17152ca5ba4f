import { Type } from '@sinclair/typebox';
import { Toxic, proxyModeFields, proxyModeProblems, toxicProblems } from '../proxy';
import { defineKind } from './types';

export default defineKind({
  kind: 'tcp-fault',
  title: 'TCP fault (proxy)',
  description:
    'Runs a TCP proxy for the fault\'s lifetime with stackable Toxiproxy-style toxics (latency, bandwidth, timeout, reset-peer, slow-close, slicer, limit-data). ' +
    'Explicit: clients connect to `listen`, the proxy forwards to `upstream`. Transparent: `port` traffic in the target network namespace is redirected through the proxy with nft (needs no kernel netem).',
  scope: 'network',
  targetRequired: false,
  requires: [],
  params: Type.Object(
    {
      ...proxyModeFields,
      toxics: Type.Array(Toxic, { maxItems: 16, default: [], description: 'applied in order; each decides per connection (toxicity)' }),
    },
    { additionalProperties: false },
  ),
  check: (p) => [...proxyModeProblems(p), ...toxicProblems(p.toxics as Record<string, unknown>[])],
});
