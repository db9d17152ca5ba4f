import express, { type Request, type Router } from 'express';
import { AlertmanagerWebhook, FreezeRequest, GrafanaWebhook } from '../../api/alerts';
import { validate } from '../../api/validate';
import { actorOf } from '../auth/middleware';
import type { Safety } from '../safety';
import { alertName, fromAlertmanager, fromGrafana } from './alerts';

// Safety routes, mounted under /api/v1 by the exporter's route list:
//   POST   /alerts/alertmanager   Alertmanager webhook (v4)         webhook role
//   POST   /alerts/grafana        Grafana webhook contact point      webhook role
//   GET    /alerts                alerts firing now                  viewer
//   GET    /freeze                freeze state                       viewer
//   POST   /freeze {reason, until?}  freeze: stop all, refuse starts  operator
//   DELETE /freeze                lift the freeze                    admin
//   GET    /policy                the blast radius policy            viewer
// Authorization is the auth middleware's job; handlers only read the actor.

export function safetyRoutes(safety: Safety, opts: { actor?: (req: Request) => string } = {}): Router {
  const actor = opts.actor ?? actorOf;
  const r = express.Router();

  r.post('/alerts/alertmanager', async (req, res) => {
    const body = validate(AlertmanagerWebhook, req.body, 'Alertmanager notification');
    res.json(await safety.alerts.handle(fromAlertmanager(body), actor(req)));
  });

  r.post('/alerts/grafana', async (req, res) => {
    const body = validate(GrafanaWebhook, req.body, 'Grafana notification');
    res.json(await safety.alerts.handle(fromGrafana(body), actor(req)));
  });

  r.get('/alerts', (_req, res) => {
    res.json({
      items: safety.alerts.firing.list().map((a) => ({
        name: alertName(a),
        fingerprint: a.fingerprint,
        source: a.source,
        labels: a.labels,
        startsAt: a.startsAt,
        generatorURL: a.generatorURL,
      })),
    });
  });

  r.get('/freeze', (_req, res) => {
    res.json(safety.freeze.state());
  });

  r.post('/freeze', async (req, res) => {
    const body = validate(FreezeRequest, req.body ?? {}, 'freeze request');
    res.json(await safety.freeze.freeze(body, actor(req)));
  });

  r.delete('/freeze', (req, res) => {
    const before = safety.freeze.unfreeze(actor(req));
    res.json({ ...safety.freeze.state(), lifted: before.frozen ? before : null });
  });

  r.get('/policy', (_req, res) => {
    res.json(safety.policy.rules);
  });

  return r;
}
