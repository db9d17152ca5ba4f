import { timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import express from 'express';
import type { Logger } from 'pino';
import type { TSchema } from '@sinclair/typebox';
import {
  DaemonAddressesRequest,
  DaemonFaultRequest,
  DaemonPeersUpdate,
  DaemonRecoverRequest,
  DaemonTargetQuery,
  LeaseRenewal,
  LeaseRenewalBatch,
  type DaemonAddresses,
  type DaemonFaultList,
  type DaemonInfo,
  type DaemonLeaseResult,
  type DaemonRecoverItem,
  type DaemonRecoverResult,
  type DaemonTargetList,
} from '../api/daemon';
import { ApiError } from '../api/errors';
import { compileUserRegex } from '../api/regex';
import { precompile, validate } from '../api/validate';
import { errorHandler, noRoute } from '../server-common/http-errors';
import { jsonBody } from '../server-common/json-body';
import type { Capabilities } from './capabilities';
import type { FaultManager } from './manager';
import { addressesOf } from './resolve/addresses';
import { listCandidates } from './resolve/candidates';
import type { Protection } from './resolve/protect';
import type { DaemonMetrics } from './daemon-metrics';

// The daemon's HTTP API (routes documented beside the shapes in api/daemon.ts). Every error leaves
// through the handler the exporter uses too (server-common/http-errors.ts) as `{error: {code, message, details}}`.

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
    const watchdog = d.watchdog?.();
    if (watchdog) info.watchdog = watchdog;
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

  app.put('/v1/leases', async (req, res) => {
    const { ids, leaseSeconds } = validate(LeaseRenewalBatch, req.body, 'lease renewals');
    const items = await Promise.all(
      ids.map(async (id): Promise<DaemonRecoverItem> => {
        try {
          return { id, status: 200, fault: await d.manager.renew(id, leaseSeconds) };
        } catch (err) {
          const e = err instanceof ApiError ? err : new ApiError(500, 'internal', (err as Error).message);
          return { id, status: e.status, error: { code: e.code, message: e.message } };
        }
      }),
    );
    const body: DaemonLeaseResult = { items };
    res.json(body);
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
    // RE2 (the schema already refused what it cannot parse): linear over every command line on the host.
    const processName = q.processName === undefined ? undefined : compileUserRegex(q.processName, { anchored: false, field: '/processName' });
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

  app.use(noRoute());
  app.use(errorHandler({ log: d.log, logRefusals: true }));
  return app;
}

/**
 * Compiles every request schema the daemon validates, off the start path (setImmediate after
 * listening): an alert's abort is often a daemon's first recover request, and compiling its schema
 * then cost ~3 ms before the first SIGCONT, each daemon of a node pool at once.
 */
export function precompileRequestSchemas(kindParams: Iterable<TSchema>): void {
  precompile([DaemonFaultRequest, LeaseRenewal, LeaseRenewalBatch, DaemonPeersUpdate, DaemonTargetQuery, DaemonAddressesRequest, DaemonRecoverRequest, ...kindParams]);
}
