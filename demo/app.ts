import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { ApiError } from '../api/errors';
import { durationMs, parseSettingsPatch, type DemoSettings } from './config';
import type { Backend } from './backend';
import type { DemoMetrics } from './demo-metrics';

// The demo service's HTTP routes. Two API routes, each sensitive to a different kind of fault:
//   GET /api/work      CPU work per request (SHA-256 rounds): cpu-stress and process-pause raise its latency
//   GET /api/checkout  calls the backend over TCP: network delay/loss/partition and a paused or
//                      killed backend turn into latency and 502/504 answers
// plus GET/PUT /admin/settings to make the service fail on purpose (errorRatio, latency), and
// GET /admin/backend: where the backend is and its pid, to aim a fault at it.

export interface AppDeps {
  metrics: DemoMetrics;
  settings: DemoSettings;
  backendUrl: string;
  backend?: Backend;
  backendTimeoutMs: number;
  work: number;
  log: Logger;
}

const API_ROUTES = new Set(['/api/work', '/api/checkout']);
const KNOWN_ROUTES = new Set(['/admin/settings', '/admin/backend', '/metrics', '/healthz']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createDemoApp(deps: AppDeps): express.Express {
  const { metrics, settings } = deps;
  const app = express();
  app.disable('x-powered-by');

  // Count and time every request under a fixed set of route labels (no unbounded label values).
  app.use((req, res, next) => {
    const route = API_ROUTES.has(req.path) || KNOWN_ROUTES.has(req.path) ? req.path : 'other';
    const end = metrics.duration.startTimer({ route });
    res.on('finish', () => {
      end();
      metrics.requests.inc({ route, code: String(res.statusCode) });
    });
    next();
  });

  // Faults made by the service itself (admin settings), before the real work.
  app.use('/api', async (req, _res, next) => {
    const latencyMs = durationMs(settings.latency);
    if (latencyMs > 0) await sleep(latencyMs);
    if (settings.errorRatio > 0 && Math.random() < settings.errorRatio) {
      next(Object.assign(ApiError.foreign(500, 'injected', 'failed on purpose (errorRatio setting)'), { reason: 'injected' }));
      return;
    }
    next();
  });

  app.get('/api/work', (_req, res) => {
    let digest = Buffer.from('faultline');
    for (let i = 0; i < deps.work; i++) digest = createHash('sha256').update(digest).digest();
    res.json({ ok: true, digest: digest.toString('hex').slice(0, 16) });
  });

  app.get('/api/checkout', async (_req, res, next) => {
    const end = metrics.backend.startTimer();
    try {
      const r = await fetch(`${deps.backendUrl}/stock`, { signal: AbortSignal.timeout(deps.backendTimeoutMs) });
      const body = (await r.json()) as { stock?: number };
      if (!r.ok) {
        end({ result: 'status' });
        throw Object.assign(ApiError.foreign(502, 'backend_status', `backend answered ${r.status}`), { reason: 'backend_status' });
      }
      end({ result: 'ok' });
      res.json({ ok: true, stock: body.stock });
    } catch (err) {
      if (err instanceof ApiError) return next(err);
      const timeout = (err as Error).name === 'TimeoutError';
      end({ result: timeout ? 'timeout' : 'unreachable' });
      const reason = timeout ? 'backend_timeout' : 'backend_unreachable';
      next(Object.assign(ApiError.foreign(timeout ? 504 : 502, reason, `backend ${timeout ? 'did not answer in time' : 'unreachable'}: ${(err as Error).message}`), { reason }));
    }
  });

  app.get('/admin/settings', (_req, res) => {
    res.json(settings);
  });

  app.put('/admin/settings', express.json({ limit: '16kb' }), (req, res) => {
    // Validated as a whole first: a bad request changes nothing.
    const patch = parseSettingsPatch(req.body);
    Object.assign(settings, patch);
    deps.log.info({ settings }, 'demo settings changed');
    res.json(settings);
  });

  app.get('/admin/backend', (_req, res) => {
    const b = deps.backend;
    res.json(b ? { url: deps.backendUrl, builtIn: true, pid: b.pid() ?? null, up: b.up(), restarts: b.restarts() } : { url: deps.backendUrl, builtIn: false });
  });

  app.get('/metrics', async (_req, res) => {
    try {
      res.set('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (err) {
      res.status(500).type('text/plain').send(String(err));
    }
  });

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });

  app.use((req, _res, next) => next(new ApiError(404, 'not_found', `no route ${req.method} ${req.path}`)));

  // One error handler: ApiError bodies as everywhere in Faultline; body parser errors are 400s.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if ((err as { type?: string }).type === 'entity.parse.failed') e = ApiError.invalid(`malformed JSON: ${(err as Error).message}`, [{ field: '/', reason: 'is not valid JSON' }]);
    else if ((err as { status?: number }).status === 413) e = new ApiError(413, 'too_large', 'request body too large');
    else {
      deps.log.error({ err }, 'unexpected error');
      e = new ApiError(500, 'internal', 'internal error');
    }
    if (e.status >= 500) {
      const route = API_ROUTES.has(req.path) ? req.path : 'other';
      metrics.errors.inc({ route, reason: (err as { reason?: string }).reason ?? 'internal' });
    }
    res.status(e.status).json(e.toBody());
  });

  return app;
}
