import { Type } from '@sinclair/typebox';
import { Report } from '../../api/report';
import type { Engine } from '../engine/lifecycle';
import type { PrometheusClient } from '../guards/promql';
import { route, type Route } from '../routes/route';
import type { EventStore } from '../store/event-log';
import { buildReport } from './build';
import { reportHtml } from './html';

const ReportQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html')], { description: 'html, or json (default unless Accept prefers text/html)' })) },
  { additionalProperties: false },
);

/** GET /experiments/:namespace/:name/report: JSON, or HTML with `?format=html` or `Accept: text/html`. */
export function reportRoutes(d: { engine: Engine; events: EventStore; prometheus: PrometheusClient | null }): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/experiments/:namespace/:name/report',
      role: 'viewer',
      summary: "an experiment's report: outcome, timeline, targets, SLIs before/during/after (JSON or HTML)",
      query: ReportQuery,
      response: { description: 'the report (text/html with format=html)', schema: Report, name: 'Report' },
      errors: { 404: 'no such experiment' },
      handler: async ({ params, query, req, res }) => {
        const exp = d.engine.get({ namespace: params.namespace, name: params.name });
        const events = d.events.query({ uid: exp.metadata.uid, limit: 10_000 }).items;
        const report = await buildReport(exp, events, d.prometheus);
        const html = query.format === 'html' || (query.format === undefined && req.accepts(['json', 'html']) === 'html');
        if (html) res.type('html').send(reportHtml(report));
        else res.json(report);
      },
    }),
  ];
}
