import { Router } from 'express';
import { ApiError } from '../../api/errors';
import type { Engine } from '../engine/lifecycle';
import type { PrometheusClient } from '../guards/promql';
import type { EventStore } from '../store/events';
import { buildReport } from './build';
import { reportHtml } from './html';

/** GET /experiments/:namespace/:name/report: JSON, or HTML with `?format=html` or `Accept: text/html`. */
export function reportRoutes(d: { engine: Engine; events: EventStore; prometheus: PrometheusClient | null }): Router {
  const r = Router();
  r.get('/experiments/:namespace/:name/report', async (req, res) => {
    const format = req.query.format;
    if (format !== undefined && format !== 'json' && format !== 'html') {
      throw ApiError.invalid('invalid query: format must be json or html', [{ field: 'format', reason: 'must be json or html' }]);
    }
    const exp = d.engine.get({ namespace: String(req.params.namespace), name: String(req.params.name) });
    const events = d.events.query({ uid: exp.metadata.uid, limit: 10_000 }).items;
    const report = await buildReport(exp, events, d.prometheus);
    const html = format === 'html' || (format === undefined && req.accepts(['json', 'html']) === 'html');
    if (html) res.type('html').send(reportHtml(report));
    else res.json(report);
  });
  return r;
}
