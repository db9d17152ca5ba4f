import type { Request, Response } from 'express';
import { KIND_SPECS } from '../../api/kinds/index';
import { redactCommandLine } from '../../api/redact';
import type { Health, KindList, TargetList } from '../../api/targets';
import { authOf } from '../auth/middleware';
import { allows } from '../auth/permissions';
import type { DaemonRegistry } from '../daemons';
import type { ExporterMetrics } from '../metrics';
import { openapi } from '../openapi';
import type { TargetResolver } from '../targets/types';

// Health, kinds, targets, the OpenAPI document and /metrics.

export function metaRoutes(d: { daemons: DaemonRegistry; targets: TargetResolver; metrics: ExporterMetrics; version: string; healthExtra?: () => Partial<Health> }) {
  const doc = openapi(d.version);
  const kindsSchema = new Map(KIND_SPECS.map((k) => [k.kind, JSON.parse(JSON.stringify(k.params)) as unknown]));
  return {
    health(_req: Request, res: Response) {
      const body: Health = {
        status: 'ok',
        name: 'faultline-exporter',
        version: d.version,
        daemons: d.daemons.clients.map((c) => ({
          name: c.name,
          url: c.base,
          up: c.up,
          ...(c.info ? { version: c.info.version, faults: c.info.faults } : {}),
          ...(c.lastSeen ? { lastSeen: c.lastSeen.toISOString() } : {}),
          ...(c.lastError ? { error: c.lastError } : {}),
        })),
        ...(d.healthExtra ? d.healthExtra() : {}),
      };
      res.json(body);
    },
    kinds(_req: Request, res: Response) {
      const body: KindList = {
        items: KIND_SPECS.map((k) => ({
          kind: k.kind,
          title: k.title,
          description: k.description,
          scope: k.scope,
          targetRequired: k.targetRequired,
          requires: [...k.requires],
          schema: kindsSchema.get(k.kind),
          support: d.daemons.clients.map((c) => {
            // pod kinds: only the exporter's pod daemon (Kubernetes mode, name kubernetes-api) lists them
            if (k.scope === 'pod' && !c.info?.kinds.some((x) => x.kind === k.kind)) return { daemon: c.name, supported: false, reason: 'needs the exporter in Kubernetes mode' };
            const s = c.info?.kinds.find((x) => x.kind === k.kind);
            if (!c.info) return { daemon: c.name, supported: false, reason: `daemon unreachable${c.lastError ? `: ${c.lastError}` : ''}` };
            if (!s) return { daemon: c.name, supported: false, reason: 'this daemon does not know the kind' };
            return { daemon: c.name, supported: s.supported, ...(s.reason ? { reason: s.reason } : {}) };
          }),
        })),
      };
      res.json(body);
    },
    async targets(req: Request, res: Response) {
      // command lines: redacted for everyone (here too, whatever the daemon's version), and only for operators and up at all
      const whole = allows(authOf(req).role, 'operator');
      const body: TargetList = { items: (await d.targets.candidates()).map(({ cmdline, ...c }) => (whole && cmdline !== undefined ? { ...c, cmdline: redactCommandLine(cmdline) } : c)) };
      res.json(body);
    },
    openapi(_req: Request, res: Response) {
      res.json(doc);
    },
    async metrics(_req: Request, res: Response) {
      res.set('Content-Type', d.metrics.registry.contentType);
      res.send(await d.metrics.metrics());
    },
  };
}
