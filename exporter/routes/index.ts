import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { ApiError } from '../../api/errors';
import type { DaemonRegistry } from '../daemons';
import type { Engine } from '../engine/lifecycle';
import type { EventBus } from '../events';
import type { ExporterMetrics } from '../metrics';
import type { EventStore } from '../store/events';
import type { Health } from '../../api/targets';
import type { TargetResolver } from '../targets/types';
import { eventRoutes } from './events';
import { experimentRoutes } from './experiments';
import { metaRoutes } from './meta';

// Every route of the exporter, in one place. Other features (alert webhooks, freeze, policy) add
// theirs through `extraRoutes`, after auth, under the same error handling.

export interface RouteDeps {
  engine: Engine;
  bus: EventBus;
  events: EventStore;
  daemons: DaemonRegistry;
  targets: TargetResolver;
  metrics: ExporterMetrics;
  version: string;
  log: Logger;
  auth: RequestHandler;
  extraRoutes?: ((router: Router) => void)[];
  /** Adds fields to /api/v1/health (freeze state, guards). */
  healthExtra?: () => Partial<Health>;
}

export function buildApp(d: RouteDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const ex = experimentRoutes(d.engine);
  const ev = eventRoutes(d.events, d.bus);
  const meta = metaRoutes(d);

  // Grafana's data source proxy matches its route prefix `api/v1` case-sensitively (with the role
  // each method needs); express matches case-insensitively. Refuse any other spelling of the prefix
  // so no request can reach the API around the proxy's role check.
  app.use((req, _res, next) => (/^\/api\/v1(\/|$)/i.test(req.path) && !/^\/api\/v1(\/|$)/.test(req.path) ? next(ApiError.notFound(`no route ${req.method} ${req.path}`)) : next()));
  app.use(d.auth);
  // Alert notifications may carry a large group (up to 10 000 alerts): a safety stop must not be
  // refused for its size. Parsed here first; the general parser then skips the parsed body.
  app.use('/api/v1/alerts', express.json({ limit: '16mb', type: () => true }));
  app.use(express.json({ limit: '1mb', type: () => true }));

  const r = express.Router();
  r.get('/health', meta.health);
  r.get('/experiments', ex.list);
  r.post('/experiments', ex.create);
  r.get('/experiments/:namespace/:name', ex.get);
  r.delete('/experiments/:namespace/:name', ex.remove);
  r.post('/experiments/:namespace/:name/pause', ex.pause);
  r.post('/experiments/:namespace/:name/resume', ex.resume);
  r.post('/experiments/:namespace/:name/stop', ex.stop);
  r.post('/stop-all', ex.stopAll);
  r.get('/events', ev.list);
  r.get('/events/stream', ev.stream);
  r.get('/kinds', meta.kinds);
  r.get('/targets', meta.targets);
  r.get('/openapi.json', meta.openapi);
  for (const add of d.extraRoutes ?? []) add(r);
  app.use('/api/v1', r);
  app.get('/metrics', meta.metrics);

  app.use((req, _res, next) => next(ApiError.notFound(`no route ${req.method} ${req.path}`)));
  // express recognises an error handler by its four parameters
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let e: ApiError;
    const type = (err as { type?: string }).type;
    if (err instanceof ApiError) e = err;
    else if (type === 'entity.parse.failed') e = ApiError.invalid(`invalid JSON body: ${(err as Error).message}`, [{ field: '/', reason: 'is not valid JSON' }]);
    else if (type === 'entity.too.large') e = new ApiError(413, 'too_large', 'request body is larger than 1mb');
    else {
      d.log.error({ err, method: req.method, path: req.path }, 'request failed');
      e = new ApiError(500, 'internal', (err as Error)?.message ?? String(err));
    }
    if (res.headersSent) return void res.end();
    res.status(e.status).json(e.toBody());
  });
  return app;
}
