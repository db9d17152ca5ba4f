import { Type } from '@sinclair/typebox';
import { KIND_SPECS } from '../../api/kinds/index';
import { redactCommandLine } from '../../api/redact';
import { Health, KindList, TargetList } from '../../api/targets';
import { callerOf } from '../auth/middleware';
import { allows } from '../auth/permissions';
import type { DaemonRegistry } from '../daemons';
import type { ExporterMetrics } from '../exporter-metrics';
import type { TargetResolver } from '../targets/types';
import { route, type Route } from './route';

// Health, kinds, targets, the OpenAPI document and /metrics.

export interface MetaDeps {
  daemons: DaemonRegistry;
  targets: TargetResolver;
  metrics: ExporterMetrics;
  version: string;
  /** Adds fields to /api/v1/health (freeze state, guards). */
  healthExtra?: () => Partial<Health>;
}

/** `openapi` returns the document (built from the whole table, which holds these routes too). */
export function metaRoutes(d: MetaDeps, openapi: () => unknown): Route[] {
  const kindsSchema = new Map(KIND_SPECS.map((k) => [k.kind, JSON.parse(JSON.stringify(k.params)) as unknown]));
  return [
    route({
      method: 'GET',
      path: '/api/v1/health',
      role: 'viewer',
      summary: 'health, daemons, freeze and guards',
      response: { description: 'ok', schema: Health, name: 'Health' },
      handler: (): Health => ({
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
      }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/kinds',
      role: 'viewer',
      summary: 'fault kinds with their params JSON schema and support per daemon',
      response: { description: 'every kind', schema: KindList, name: 'KindList' },
      handler: (): KindList => ({
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
      }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/targets',
      role: 'viewer',
      summary: 'what local selectors can pick now',
      response: { description: 'candidate targets', schema: TargetList, name: 'TargetList' },
      // command lines: redacted for everyone (here too, whatever the daemon's version), and only for operators and up at all
      handler: async ({ req }): Promise<TargetList> => {
        const role = callerOf(req)?.role;
        const whole = role !== undefined && allows(role, 'operator');
        return { items: (await d.targets.candidates()).map(({ cmdline, ...c }) => (whole && cmdline !== undefined ? { ...c, cmdline: redactCommandLine(cmdline) } : c)) };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/openapi.json',
      role: 'viewer',
      summary: 'this document, generated from the route table',
      response: { description: 'OpenAPI 3.1', schema: Type.Object({ openapi: Type.Literal('3.1.0') }, { additionalProperties: true }) },
      handler: () => openapi(),
    }),
    route({
      method: 'GET',
      path: '/metrics',
      role: 'viewer',
      summary: 'Prometheus metrics',
      response: { description: 'Prometheus text exposition', contentType: 'text/plain' },
      handler: async ({ res }) => {
        res.set('Content-Type', d.metrics.registry.contentType);
        res.send(await d.metrics.metrics());
      },
    }),
  ];
}
