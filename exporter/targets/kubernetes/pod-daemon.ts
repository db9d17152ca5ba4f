import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import pino from 'pino';
import { DAEMON_ROUTES, DaemonFaultRequest, LeaseRenewal, type DaemonFault, type DaemonInfo } from '../../../api/daemon';
import { ApiError } from '../../../api/errors';
import { validate } from '../../../api/validate';
import { isNotFound } from './client';
import { POD_KINDS, podFaultKind, type KubernetesMode } from './index';
import { podFailureMark } from './pod-failure';
import { isProtectedNamespace, namespaceRefusal, podRefusal } from './protected';
import { toPodTarget, type PodTarget } from './select';

// The pod kinds (pod-kill, pod-failure, container-kill) act through the Kubernetes API, not on a
// node. So that the exporter's engine drives them exactly like every other kind — create with a
// lease, renew, delete, list, retried with backoff — the exporter serves them from this in-process
// "pod daemon": the node daemon's HTTP API (api/daemon.ts) on a loopback port with a random token,
// registered in the daemon registry under the name `kubernetes-api`. A lease that is not renewed
// reverts the fault (pod-failure gets its images back) just as on a node.
//
// Every request re-reads the pod and re-checks safety: a pod annotated faultline.dev/protected, or a
// namespace that opted out, since the experiment was planned is refused now.
//
// This daemon lives in the exporter's process, so a crashed exporter takes its leases with it. What
// must not stay behind is a pod-failure (pods stuck on the pause image); such a pod carries the
// annotation faultline.dev/pod-failure with the fault id. A DELETE for an id this process does not
// hold looks for it there, and `orphanGraceMs` after start every marked pod whose fault was not
// posted again (by the engine's reconcile) is reverted.

export const POD_DAEMON_NAME = 'kubernetes-api';

interface Held {
  fault: DaemonFault;
  leaseSeconds: number;
  leaseExpiresAtMs: number;
  target: PodTarget;
  state: Record<string, unknown>;
}

function sameRequest(a: DaemonFault, b: DaemonFaultRequest): boolean {
  return a.kind === b.kind && JSON.stringify(a.params) === JSON.stringify(b.params) && JSON.stringify(a.target ?? {}) === JSON.stringify(b.target ?? {});
}

export interface RunningPodDaemon {
  url: string;
  token: string;
  held(): DaemonFault[];
  close(opts?: { recover?: boolean }): Promise<void>;
}

export async function startPodDaemon(
  k8s: KubernetesMode,
  opts: { log?: Logger; sweepMs?: number; version?: string; orphanGraceMs?: number } = {},
): Promise<RunningPodDaemon> {
  const log = opts.log ?? pino({ level: 'silent' });
  const token = randomBytes(24).toString('hex');
  const faults = new Map<string, Held>();
  const startedAt = new Date().toISOString();

  async function livePod(ref: NonNullable<NonNullable<DaemonFaultRequest['target']>['pod']>): Promise<PodTarget> {
    const field = '/target/pod';
    const refuse = (reason: string) => new ApiError(422, 'unprocessable', `${field} ${reason}`, [{ field, reason }]);
    let pod;
    try {
      pod = await k8s.client.getPod(ref.namespace, ref.name);
    } catch (err) {
      if (isNotFound(err)) throw refuse(`pod ${ref.namespace}/${ref.name} does not exist`);
      throw err;
    }
    if (pod.metadata?.uid !== ref.uid) throw refuse(`pod ${ref.namespace}/${ref.name} was replaced (uid ${pod.metadata?.uid}, not ${ref.uid})`);
    const p = k8s.policy;
    const nsObj = !p.scopeNamespaces && p.requireNamespaceOptIn ? await k8s.client.getNamespace(ref.namespace) : undefined;
    const why = namespaceRefusal(ref.namespace, nsObj, p) ?? podRefusal(pod);
    if (why) throw new ApiError(422, 'unprocessable', `${field} ${why}`, [{ field, reason: why }]);
    return toPodTarget(pod, ref.containers);
  }

  async function recover(h: Held, reason: string): Promise<void> {
    h.fault.phase = 'recovering';
    await k8s.recover({ id: h.fault.id, kind: h.fault.kind, target: h.target, params: h.fault.params, experiment: `Faultline fault ${h.fault.id}` }, h.state);
    faults.delete(h.fault.id);
    log.info({ fault: h.fault.id, kind: h.fault.kind, pod: h.target.id, reason }, 'pod fault recovered');
  }

  /** Reverts pod-failures marked on pods whose fault this process does not hold (all, or only `onlyId`). */
  async function recoverOrphans(onlyId?: string): Promise<number> {
    const p = k8s.policy;
    const pods = p.scopeNamespaces
      ? (await Promise.all(p.scopeNamespaces.map((ns) => k8s.client.listPods(ns)))).flat()
      : await k8s.client.listAllPods();
    let n = 0;
    for (const pod of pods) {
      const mark = podFailureMark(pod);
      if (!mark || faults.has(mark.fault) || (onlyId !== undefined && mark.fault !== onlyId)) continue;
      if (isProtectedNamespace(pod.metadata?.namespace ?? '', p)) continue;
      const target = toPodTarget(pod);
      await k8s.recover({ id: mark.fault, kind: 'pod-failure', target, params: {}, experiment: `Faultline (fault ${mark.fault} left by an earlier exporter)` }, {});
      log.warn({ fault: mark.fault, pod: target.id }, 'reverted a pod-failure no exporter held');
      n++;
    }
    return n;
  }

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '256kb' }));
  app.get(DAEMON_ROUTES.health, (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const m = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    const ok = !!m && m[1].length === token.length && timingSafeEqual(Buffer.from(m[1]), Buffer.from(token));
    next(ok ? undefined : ApiError.unauthorized());
  });

  app.get(DAEMON_ROUTES.info, (_req, res) => {
    const info: DaemonInfo = {
      name: POD_DAEMON_NAME,
      version: opts.version ?? '0.1.0',
      pid: process.pid,
      capabilities: { k8s: { available: true, detail: k8s.policy.scopeNamespaces ? `namespaces ${k8s.policy.scopeNamespaces.join(', ')}` : 'cluster scope' } },
      kinds: POD_KINDS.map((k) => ({ kind: k.spec.kind, supported: true })),
      faults: faults.size,
      startedAt,
    };
    res.json(info);
  });

  app.post(DAEMON_ROUTES.faults, async (req, res, next) => {
    try {
      const body = validate(DaemonFaultRequest, req.body, 'request');
      if (!podFaultKind(body.kind)) {
        const reason = `${body.kind} is not a pod kind: it runs on the node daemons`;
        throw ApiError.unprocessable(`/kind ${reason}`, [{ field: '/kind', reason }]);
      }
      const existing = faults.get(body.id);
      if (existing) {
        if (!sameRequest(existing.fault, body)) throw ApiError.conflict(`fault ${body.id} exists with another kind, params or target`, [{ field: '/id', reason: 'is taken' }]);
        res.status(200).json(existing.fault);
        return;
      }
      const ref = body.target?.pod;
      if (!ref) throw ApiError.invalid('invalid request: /target/pod is required for pod kinds', [{ field: '/target/pod', reason: 'is required' }]);
      const target = await livePod(ref);
      const now = Date.now();
      const held: Held = {
        fault: { id: body.id, kind: body.kind, params: body.params, target: body.target, phase: 'injecting', leaseExpiresAt: new Date(now + body.leaseSeconds * 1000).toISOString() },
        leaseSeconds: body.leaseSeconds,
        leaseExpiresAtMs: now + body.leaseSeconds * 1000,
        target,
        state: {},
      };
      faults.set(body.id, held); // reserve the id while injecting
      try {
        held.state = await k8s.inject({ id: body.id, kind: body.kind, target, params: body.params, experiment: `Faultline fault ${body.id}` });
      } catch (err) {
        faults.delete(body.id);
        throw err;
      }
      held.fault = { ...held.fault, phase: 'active', injectedAt: new Date().toISOString(), state: held.state };
      res.status(201).json(held.fault);
    } catch (err) {
      next(err);
    }
  });

  app.get(DAEMON_ROUTES.faults, (_req, res) => {
    res.json({ faults: [...faults.values()].map((h) => h.fault) });
  });
  app.get('/v1/faults/:id', (req, res, next) => {
    const h = faults.get(String(req.params.id));
    if (!h) next(ApiError.notFound(`no fault ${req.params.id}`));
    else res.json(h.fault);
  });
  app.put('/v1/faults/:id/lease', (req, res, next) => {
    try {
      const h = faults.get(String(req.params.id));
      if (!h) throw ApiError.notFound(`no fault ${req.params.id}`);
      const body = validate(LeaseRenewal, req.body ?? {}, 'request');
      h.leaseSeconds = body.leaseSeconds ?? h.leaseSeconds;
      h.leaseExpiresAtMs = Date.now() + h.leaseSeconds * 1000;
      h.fault.leaseExpiresAt = new Date(h.leaseExpiresAtMs).toISOString();
      res.json(h.fault);
    } catch (err) {
      next(err);
    }
  });
  app.delete('/v1/faults/:id', async (req, res, next) => {
    try {
      const id = String(req.params.id);
      const h = faults.get(id);
      if (!h) {
        // Not held here (the exporter restarted): a pod may still carry it.
        if ((await recoverOrphans(id)) > 0) {
          res.json({ id, kind: 'pod-failure', params: {}, phase: 'recovered', leaseExpiresAt: new Date().toISOString() });
          return;
        }
        throw ApiError.notFound(`no fault ${id}`);
      }
      await recover(h, 'requested');
      res.json({ ...h.fault, phase: 'recovered' });
    } catch (err) {
      next(err);
    }
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    void _next;
    const e = err instanceof ApiError ? err : new ApiError(500, 'internal', (err as Error).message);
    if (!(err instanceof ApiError)) log.error({ err: (err as Error).message }, 'pod daemon request failed');
    res.status(e.status).json(e.toBody());
  });

  // Dead-man switch: a fault whose lease ran out is reverted without any request.
  const sweeping = new Set<string>();
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const h of faults.values()) {
      if (h.fault.phase !== 'active' || h.leaseExpiresAtMs > now || sweeping.has(h.fault.id)) continue;
      sweeping.add(h.fault.id);
      recover(h, 'lease_expired')
        .catch((err: unknown) => {
          h.fault.phase = 'active'; // try again on the next sweep
          log.warn({ fault: h.fault.id, err: (err as Error).message }, 'lease expired, recover failed; retrying');
        })
        .finally(() => sweeping.delete(h.fault.id));
    }
  }, opts.sweepMs ?? 250);
  sweeper.unref();
  const orphanTimer = setTimeout(() => {
    recoverOrphans().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'looking for orphaned pod-failures failed'));
  }, opts.orphanGraceMs ?? 120_000);
  orphanTimer.unref();

  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    held: () => [...faults.values()].map((h) => h.fault),
    async close(o = {}) {
      clearInterval(sweeper);
      clearTimeout(orphanTimer);
      if (o.recover) {
        for (const h of [...faults.values()]) await recover(h, 'shutdown').catch((err: unknown) => log.warn({ fault: h.fault.id, err: (err as Error).message }, 'recover at shutdown failed'));
      }
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}
