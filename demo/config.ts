import { Type, type Static } from '@sinclair/typebox';
import { Duration } from '../api/common';
import { ApiError } from '../api/errors';
import { parseDuration } from '../api/units';
import { validate } from '../api/validate';

// What `faultline demo` is started with, and the two knobs that can be turned while it runs
// (PUT /admin/settings). Both are checked by the same schemas, so the CLI flag and the admin
// endpoint refuse the same bad values with the same field names.

/** "HOST:PORT" (IPv4, name or [IPv6]); port 0 picks a free one. */
export const LISTEN_PATTERN = '^(\\[[0-9a-fA-F:.]+\\]|[a-zA-Z0-9.-]+):[0-9]{1,5}$';

const Listen = (description: string, def: string) =>
  Type.String({ pattern: LISTEN_PATTERN, description, default: def });

export const DemoSettings = Type.Object(
  {
    errorRatio: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'share of API requests answered 500 on purpose, 0–1' }),
    latency: Duration({ default: '0s', description: 'extra latency added to every API request' }),
  },
  { additionalProperties: false, $id: 'DemoSettings' },
);
export type DemoSettings = Static<typeof DemoSettings>;

/** PUT /admin/settings: any subset of the settings. */
export const DemoSettingsPatch = Type.Partial(DemoSettings, { additionalProperties: false });
export type DemoSettingsPatch = Static<typeof DemoSettingsPatch>;

export const DemoConfig = Type.Object(
  {
    listen: Listen('where the demo service listens', '127.0.0.1:9480'),
    backend: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'URL of an external backend; default: the built-in one' })),
    backendListen: Listen('where the built-in backend listens (ignored with --backend)', '127.0.0.1:9481'),
    backendTimeout: Duration({ default: '1s', description: 'how long /api/checkout waits for the backend' }),
    load: Type.Number({ minimum: 0, maximum: 1000, default: 20, description: 'requests per second of the built-in load generator; 0 = off' }),
    concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 16, description: 'at most this many load requests in flight; more are skipped' }),
    work: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 2000, description: 'SHA-256 rounds of CPU work per /api/work request' }),
    ...DemoSettings.properties,
  },
  { additionalProperties: false, $id: 'DemoConfig' },
);
export type DemoConfig = Static<typeof DemoConfig>;

/** Durations past these would only make the demo hang, not show anything. */
const DURATION_LIMITS: Record<string, { min: number; max: number }> = {
  latency: { min: 0, max: 60_000 },
  backendTimeout: { min: 1, max: 60_000 },
};

function checkDurations(value: Record<string, unknown>, what: string): void {
  for (const [field, { min, max }] of Object.entries(DURATION_LIMITS)) {
    if (typeof value[field] !== 'string') continue;
    const ms = parseDuration(value[field]);
    if (ms < min || ms > max) {
      const reason = `must be between ${min}ms and ${max / 1000}s`;
      throw ApiError.invalid(`invalid ${what}: /${field} ${reason}`, [{ field: `/${field}`, reason }]);
    }
  }
}

/** Validates PUT /admin/settings (a subset of the settings); ApiError 400 naming the field otherwise. */
export function parseSettingsPatch(body: unknown): DemoSettingsPatch {
  const patch = validate(DemoSettingsPatch, structuredClone(body ?? {}), 'settings');
  checkDurations(patch, 'settings');
  return patch;
}

/** Validates a config (defaults filled in); ApiError 400 naming each bad field otherwise. */
export function parseDemoConfig(input: Record<string, unknown>): DemoConfig {
  const config = validate(DemoConfig, { ...input }, 'demo configuration');
  checkDurations(config, 'demo configuration');
  for (const [field, value] of [['listen', config.listen], ['backendListen', config.backendListen]] as const) {
    const { port } = splitListen(value);
    if (port > 65535) throw ApiError.invalid(`invalid demo configuration: /${field} port must be at most 65535`, [{ field: `/${field}`, reason: 'port must be at most 65535' }]);
  }
  return config;
}

export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

export function durationMs(d: string): number {
  return parseDuration(d);
}
