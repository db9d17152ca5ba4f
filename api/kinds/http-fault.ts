import { Type } from '@sinclair/typebox';
import { HttpAbort, HttpDelay, HttpMatch, HttpReplace, httpActionProblems, proxyModeFields, proxyModeProblems } from '../proxy';
import { defineKind } from './types';

export default defineKind({
  kind: 'http-fault',
  title: 'HTTP fault (proxy)',
  description:
    'Runs an HTTP/1.1 proxy (keep-alive, chunked, upgrades pass through) that delays, aborts or rewrites the requests that `match` ' +
    '(method, path glob or regex, headers). Explicit (`listen` → `upstream`) or transparent (`port` redirected with nft in the target network namespace).',
  scope: 'network',
  targetRequired: false,
  requires: [],
  params: Type.Object(
    {
      ...proxyModeFields,
      match: Type.Optional(HttpMatch),
      delay: Type.Optional(HttpDelay),
      abort: Type.Optional(HttpAbort),
      replace: Type.Optional(HttpReplace),
    },
    { additionalProperties: false },
  ),
  check: (p) => [...proxyModeProblems(p), ...httpActionProblems(p)],
});
