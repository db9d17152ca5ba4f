import type { Engine } from '../engine/lifecycle';
import type { EventBus } from '../event-bus';
import { safetyRoutes } from './safety';
import type { PrometheusClient } from '../guards/promql';
import { openapiDocument } from '../openapi';
import { reportRoutes } from '../reports/routes';
import type { Safety } from '../safety';
import type { EventStore } from '../store/event-log';
import type { WorkflowEngine } from '../workflows/engine';
import { workflowRoutes } from '../workflows/routes';
import { eventRoutes } from './events';
import { experimentRoutes } from './experiments';
import { metaRoutes, type MetaDeps } from './meta';
import type { Route } from './route';

// The exporter's one route table: every route, declared once by its feature (method, path, role,
// schemas, handler). The router (routes/router.ts), the role check and /api/v1/openapi.json all
// derive from this list; tests/integration/exporter-routes.test.ts checks it against the live
// router, the OpenAPI document and the Grafana proxy routes of plugin.json.

export interface TableDeps extends MetaDeps {
  engine: Engine;
  bus: EventBus;
  events: EventStore;
  safety: Safety;
  workflows: WorkflowEngine;
  prometheus: PrometheusClient | null;
}

export function routeTable(d: TableDeps): Route[] {
  const routes: Route[] = [];
  let doc: unknown;
  routes.push(
    ...metaRoutes(d, () => (doc ??= openapiDocument(routes, d.version))),
    ...experimentRoutes(d.engine),
    ...reportRoutes({ engine: d.engine, events: d.events, prometheus: d.prometheus }),
    ...eventRoutes(d.events, d.bus),
    ...workflowRoutes(d.workflows),
    ...safetyRoutes(d.safety),
  );
  return routes;
}
