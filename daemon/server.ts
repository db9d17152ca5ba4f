import { timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { DaemonAddressesRequest, DaemonPeersUpdate, DaemonRecoverRequest, DaemonTargetQuery, type DaemonAddresses, LeaseRenewal, type DaemonFaultList, type DaemonInfo, type DaemonRecoverResult, type DaemonTargetList } from '../api/daemon';
import { ApiError } from '../api/errors';
import { validate } from '../api/validate';
import type { Capabilities } from './capabilities';
import type { FaultManager } from './manager';
import { addressesOf } from './resolve/addresses';
import { listCandidates } from './resolve/candidates';
import type { Protection } from './resolve/protect';
import type { DaemonMetrics } from './metrics';

// The daemon's HTTP API (routes documented beside the shapes in api/daemon.ts). Every error leaves
// through one handler as `{error: {code, message, details}}`.

export interface ServerDeps {
  manager: FaultManager;
  metrics: DaemonMetrics;
  caps: Capabilities;
  protection: Protection;
  token?: string;
  version: string;
  startedAt: Date;
  log: Logger;
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

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.use((req, _res, next) => {
    if (d.token && !tokenMatches(req.headers.authorization, d.token)) return next(ApiError.unauthorized());
    next();
  });

  app.use(express.json({ limit: '256kb', type: () => true }));

  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', d.metrics.registry.contentType);
    res.send(await d.metrics.registry.metrics());
  });

  app.get('/v1/info', (_req, res) => {
    const info: DaemonInfo = {
      name: hostname(),
      version: d.version,
      pid: process.pid,
      capabilities: d.caps,
      kinds: d.manager.kinds(),
      faults: d.manager.count(),
      startedAt: d.startedAt.toISOString(),
    };
    res.json(info);
  });

  app.get('/v1/faults', (_req, res) => {
    const body: DaemonFaultList = { faults: d.manager.list() };
    res.json(body);
  });

  app.post('/v1/faults', async (req, res) => {
    const { fault, created } = await d.manager.create(req.body);
    res.status(created ? 201 : 200).json(fault);
  });

  app.get('/v1/faults/:id', (req, res) => {
    res.json(d.manager.get(String(req.params.id)));
  });

  app.put('/v1/faults/:id/lease', async (req, res) => {
    const body = validate(LeaseRenewal, req.body ?? {}, 'lease renewal');
    res.json(await d.manager.renew(String(req.params.id), body.leaseSeconds));
  });

  app.put('/v1/faults/:id/peers', async (req, res) => {
    const { peers } = validate(DaemonPeersUpdate, req.body, 'peers update');
    res.json(await d.manager.setPeers(String(req.params.id), peers));
  });

  app.delete('/v1/faults/:id', async (req, res) => {
    res.json(await d.manager.recover(String(req.params.id), 'requested'));
  });

  app.get('/v1/targets', async (req, res) => {
    const q = validate(DaemonTargetQuery, { ...req.query }, 'targets query', '');
    const pids = q.pids?.split(',').map(Number);
    if (pids?.some((p) => p > 4194304)) throw ApiError.invalid('invalid targets query: /pids has a pid above 4194304', [{ field: '/pids', reason: 'pids are at most 4194304' }]);
    let processName: RegExp | undefined;
    if (q.processName !== undefined) {
      try {
        processName = new RegExp(q.processName);
      } catch (err) {
        throw ApiError.invalid(`invalid targets query: /processName is not a valid regular expression`, [{ field: '/processName', reason: (err as Error).message }]);
      }
    }
    const body: DaemonTargetList = { targets: await listCandidates(d.protection, { pids, processName }) };
    res.json(body);
  });

  app.post('/v1/addresses', async (req, res) => {
    const { target } = validate(DaemonAddressesRequest, req.body, 'addresses request');
    const body: DaemonAddresses = { addresses: await addressesOf(target, d.protection) };
    res.json(body);
  });

  app.post('/v1/recover', async (req, res) => {
    const { ids } = validate(DaemonRecoverRequest, req.body, 'recover request');
    const body: DaemonRecoverResult = { items: await d.manager.recoverMany(ids) };
    res.json(body);
  });

  app.use((req, _res, next) => next(ApiError.notFound(`no route ${req.method} ${req.path}`)));

  // express needs the 4-argument signature to recognise an error handler
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let apiErr: ApiError;
    if (err instanceof ApiError) apiErr = err;
    else if ((err as { type?: string }).type === 'entity.parse.failed') apiErr = ApiError.invalid(`invalid JSON body: ${(err as Error).message}`, [{ field: '/', reason: 'is not valid JSON' }]);
    else if ((err as { type?: string }).type === 'entity.too.large') apiErr = new ApiError(413, 'too_large', 'request body is larger than 256kb');
    else {
      d.log.error({ err, method: req.method, path: req.path }, 'request failed');
      apiErr = new ApiError(500, 'internal', (err as Error)?.message ?? String(err));
    }
    if (apiErr.status >= 400 && apiErr.status < 500) d.log.info({ method: req.method, path: req.path, status: apiErr.status, message: apiErr.message }, 'request refused');
    res.status(apiErr.status).json(apiErr.toBody());
  });
  return app;
}
