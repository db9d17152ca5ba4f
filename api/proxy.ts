import { Type } from '@sinclair/typebox';
import { endpointProblem } from './addresses';
import { Duration, Rate, Size } from './common';
import type { ErrorDetail } from './errors';
import { RE2_SYNTAX, RegexString } from './regex';

// Wire pieces shared by the two fault-proxy kinds (tcp-fault, http-fault): how traffic reaches the
// proxy (explicit `listen` → `upstream`, or transparent: an nft redirect of `port` in the target's
// network namespace) and, for tcp-fault, the toxics. Toxics follow Toxiproxy's names and meaning,
// with Faultline's units (durations and sizes as strings).

export const ListenAddress = Type.String({
  pattern: '^(([0-9]{1,3}\\.){3}[0-9]{1,3}|localhost|\\[[0-9a-fA-F:.]+\\]):[0-9]{1,5}$',
  description: 'address:port the proxy listens on, e.g. 127.0.0.1:18080 (port 0 = any free port, reported in the fault state)',
});

export const HostPort = Type.String({
  pattern: '^([a-zA-Z0-9]([a-zA-Z0-9.-]{0,252})|\\[[0-9a-fA-F:.]+\\]):[0-9]{1,5}$',
  description: 'host:port the proxy forwards to, e.g. 127.0.0.1:8080',
});

/** The proxy fields both kinds share; `mode` is implied: `listen`+`upstream` = explicit, `port` = transparent. */
export const proxyModeFields = {
  listen: Type.Optional(ListenAddress),
  upstream: Type.Optional(HostPort),
  port: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 65535,
      description: 'transparent mode: TCP port whose traffic in the target network namespace is redirected through the proxy',
    }),
  ),
};

export const TOXIC_TYPES = ['latency', 'bandwidth', 'timeout', 'reset-peer', 'slow-close', 'slicer', 'limit-data'] as const;
export type ToxicType = (typeof TOXIC_TYPES)[number];

/** Which attributes belong to which toxic (the rest of a toxic object must not carry others). */
export const TOXIC_ATTRIBUTES: Record<ToxicType, { required: string[]; optional: string[] }> = {
  latency: { required: ['latency'], optional: ['jitter'] },
  bandwidth: { required: ['rate'], optional: [] },
  timeout: { required: ['timeout'], optional: [] },
  'reset-peer': { required: [], optional: ['timeout'] },
  'slow-close': { required: ['delay'], optional: [] },
  slicer: { required: ['averageSize'], optional: ['sizeVariation', 'delay'] },
  'limit-data': { required: ['bytes'], optional: [] },
};

export const ToxicDirection = Type.Union([Type.Literal('upstream'), Type.Literal('downstream')], {
  default: 'downstream',
  description: 'upstream = client → server bytes, downstream = server → client bytes',
});

export const Toxic = Type.Object(
  {
    type: Type.Union(
      TOXIC_TYPES.map((t) => Type.Literal(t)),
      { description: 'latency, bandwidth, timeout, reset-peer, slow-close, slicer, limit-data' },
    ),
    toxicity: Type.Number({ minimum: 0, maximum: 1, default: 1, description: 'share of connections the toxic applies to, 0..1' }),
    direction: ToxicDirection,
    latency: Type.Optional(Duration({ description: 'latency: added delay per chunk' })),
    jitter: Type.Optional(Duration({ description: 'latency: uniform ± spread around latency' })),
    rate: Type.Optional(Rate({ description: 'bandwidth: e.g. 8mbit, 512kbit' })),
    timeout: Type.Optional(Duration({ description: 'timeout: close after this (0s = hold for ever, dropping data); reset-peer: reset after this' })),
    delay: Type.Optional(Duration({ description: 'slow-close: delay of the close; slicer: pause between slices' })),
    averageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1048576, description: 'slicer: average slice size in bytes' })),
    sizeVariation: Type.Optional(Type.Integer({ minimum: 0, maximum: 1048576, description: 'slicer: ± variation of the slice size in bytes' })),
    bytes: Type.Optional(Size({ description: 'limit-data: close the connection after this many bytes, e.g. 64KiB' })),
  },
  {
    additionalProperties: false,
    // Required attributes per type, in JSON Schema so forms and ajv agree (errors name the missing field).
    allOf: TOXIC_TYPES.filter((t) => TOXIC_ATTRIBUTES[t].required.length).map((t) => ({
      if: { properties: { type: { const: t } }, required: ['type'] },
      then: { required: TOXIC_ATTRIBUTES[t].required },
    })),
  } as Record<string, unknown>,
);

export const HTTP_TOKEN_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$";

export const HttpMatch = Type.Object(
  {
    methods: Type.Optional(Type.Array(Type.String({ pattern: HTTP_TOKEN_PATTERN }), { maxItems: 16, description: 'e.g. ["GET","POST"]; any when absent' })),
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'glob over the path (no query): * within a segment, ** across segments, e.g. /api/**' })),
    pathRegex: Type.Optional(RegexString('regular expression over the path (no query), matching any part of it', { maxLength: 1024 })),
    headers: Type.Optional(
      Type.Record(Type.String({ pattern: HTTP_TOKEN_PATTERN }), RegexString('regular expression the whole header value must match', { minLength: 0, maxLength: 1024 }), {
        description: `header name → regular expression the whole value must match; ${RE2_SYNTAX}`,
        additionalProperties: false,
      }),
    ),
  },
  { additionalProperties: false },
);

const Share = (what: string) => Type.Number({ minimum: 0, maximum: 100, default: 100, description: `percent of matching requests that ${what}` });

export const HttpDelay = Type.Object(
  { latency: Duration(), jitter: Duration({ default: '0ms' }), percent: Share('are delayed') },
  { additionalProperties: false },
);

export const HttpStatus = Type.Integer({ minimum: 100, maximum: 599 });

export const HttpAbort = Type.Object(
  {
    status: Type.Integer({ minimum: 100, maximum: 599, default: 503, description: 'status of the answer the proxy gives instead of the upstream' }),
    percent: Share('are aborted'),
    body: Type.Optional(Type.String({ maxLength: 65536 })),
  },
  { additionalProperties: false },
);

export const HttpReplace = Type.Object(
  {
    status: Type.Optional(HttpStatus),
    headers: Type.Optional(Type.Record(Type.String({ pattern: HTTP_TOKEN_PATTERN }), Type.String({ maxLength: 4096 }), { description: 'set or override response headers', additionalProperties: false })),
    body: Type.Optional(Type.String({ maxLength: 1048576, description: 'replaces the response body' })),
    percent: Share('get the replaced response'),
  },
  { additionalProperties: false },
);

// Checks of the proxy kinds' params beyond what the schema says, host-independent: the kinds' `check`
// (api/kinds/tcp-fault.ts, http-fault.ts) runs them in the exporter at create (400 before a 201, not a
// Failed inject), in the panel's form, and in the daemon before anything is journaled. Fields are
// relative to the params object ("/listen"); the caller puts its prefix in front.

/** Explicit (`listen` + `upstream`) or transparent (`port`), nothing in between. */
export function proxyModeProblems(p: { listen?: string; upstream?: string; port?: number }): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (p.port !== undefined) {
    if (p.listen !== undefined) out.push({ field: '/listen', reason: 'is for explicit mode; transparent mode (port) listens on its own' });
    if (p.upstream !== undefined) out.push({ field: '/upstream', reason: 'is for explicit mode; transparent mode (port) forwards to the original destination' });
    return out;
  }
  if (p.listen === undefined) out.push({ field: '/listen', reason: 'is required (explicit mode), or give port (transparent mode)' });
  else {
    const reason = endpointProblem(p.listen, 0);
    if (reason) out.push({ field: '/listen', reason });
  }
  if (p.upstream === undefined) {
    if (p.listen !== undefined) out.push({ field: '/upstream', reason: 'is required with listen' });
  } else {
    const reason = endpointProblem(p.upstream, 1);
    if (reason) out.push({ field: '/upstream', reason });
  }
  return out;
}

const TOXIC_COMMON = new Set(['type', 'toxicity', 'direction']);

/** A toxic carries only the attributes of its own type (`rate` on a latency toxic is a mistake worth a 400). */
export function toxicProblems(toxics: readonly Record<string, unknown>[] | undefined, prefix = '/toxics'): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  (toxics ?? []).forEach((t, i) => {
    const own = TOXIC_ATTRIBUTES[t.type as ToxicType];
    if (!own) return; // the schema names the bad type
    for (const key of Object.keys(t)) {
      if (TOXIC_COMMON.has(key) || own.required.includes(key) || own.optional.includes(key)) continue;
      out.push({ field: `${prefix}/${i}/${key}`, reason: `is not an attribute of the ${String(t.type)} toxic (it takes ${[...own.required, ...own.optional].join(', ') || 'none'})` });
    }
    if (t.type === 'slicer' && Number(t.sizeVariation ?? 0) >= Number(t.averageSize ?? 1)) {
      out.push({ field: `${prefix}/${i}/sizeVariation`, reason: 'must be smaller than averageSize' });
    }
  });
  return out;
}

/** An http-fault does something: at least one of delay, abort, replace. */
export function httpActionProblems(p: { delay?: unknown; abort?: unknown; replace?: unknown }): ErrorDetail[] {
  return p.delay || p.abort || p.replace ? [] : [{ field: '/delay', reason: 'give at least one action: delay, abort or replace' }];
}
