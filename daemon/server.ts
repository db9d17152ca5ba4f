import { timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { Logger } from 'pino';
import type { TSchema } from '@sinclair/typebox';
import { ApiError } from '../api/errors';
import { precompile, validate } from '../api/validate';
import { errorHandler, noRoute } from '../server-common/http-errors';
import { jsonBody } from '../server-common/json-body';
import type { Capabilities } from './capabilities';
import type { FaultManager } from './manager';
import type { Protection } from './resolve/protect';
import type { DaemonMetrics } from './daemon-metrics';
import { DAEMON_API, requestSchemas } from './routes';

// The daemon's HTTP server: health and metrics, the token check, bounded JSON bodies, then every row of
// its route table (daemon/routes.ts). Every error leaves through the handler the exporter uses too
// (server-common/http-errors.ts) as `{error: {code, message, details}}`.

export interface ServerDeps {
  manager: FaultManager;
  metrics: DaemonMetrics;
  caps: Capabilities;
  protection: Protection;
  token?: string;
  version: string;
  startedAt: Date;
  log: Logger;
  /** The watchdog's pid and whether its recover code is loaded (undefined: running without one). */
  watchdog?: () => { pid: number; armed: boolean } | undefined;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createApp(d: ServerDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // counted by route pattern, never by raw path, so fault ids cannot grow the label set
  app.use((req, res, next) => {
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      d.metrics.httpRequests.inc({ method: req.method, route, code: String(res.statusCode) });
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use((req, _res, next) => {
    if (d.token && !tokenMatches(req.headers.authorization, d.token)) return next(ApiError.unauthorized());
    next();
  });

  // a fault request is at most ~6 levels deep: 32 leaves room and refuses a body built to overflow a walk
  app.use(jsonBody({ limit: '256kb', maxDepth: 32 }));

  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', d.metrics.registry.contentType);
    res.send(await d.metrics.registry.metrics());
  });

  for (const r of DAEMON_API) {
    app[r.method](r.path, async (req, res) => {
      const input = r.input && validate(r.input.schema, r.input.from === 'query' ? { ...req.query } : (req.body ?? (r.input.optional ? {} : undefined)), r.input.what);
      const { status, body } = await r.handle(d, input, req.params as Record<string, string>);
      res.status(status ?? 200).json(body);
    });
  }

  app.use(noRoute());
  app.use(errorHandler({ log: d.log, logRefusals: true }));
  return app;
}

/**
 * Compiles every request schema the daemon validates (its route table's, and each kind's params), off the
 * start path (setImmediate after listening): an alert's abort is often a daemon's first recover request,
 * and compiling its schema then cost ~3 ms before the first SIGCONT, each daemon of a node pool at once.
 */
export function precompileRequestSchemas(kindParams: Iterable<TSchema>): void {
  precompile([...requestSchemas(), ...kindParams]);
}
