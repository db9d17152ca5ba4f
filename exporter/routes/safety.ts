import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { AlertmanagerWebhook, AlertWebhookResult, FreezeRequest, FreezeState, GrafanaWebhook } from '../../api/alerts';
import { alertName, fromAlertmanager, fromGrafana, type Alert } from '../guards/alerts';
import { BlastRadiusPolicy } from '../policy';
import { route, type Route } from './route';
import type { Safety } from '../safety';

// Safety routes: alert webhooks (abort guarded experiments), the emergency freeze, the policy.
// Roles are the route table's: a webhook takes the webhook-only `alerting` role or operator,
// freezing needs operator (stopping is never harder than starting), lifting a freeze needs admin.

const FiringAlerts = Type.Object({
  items: Type.Array(
    Type.Object({
      name: Type.String(),
      fingerprint: Type.String(),
      source: Type.String(),
      labels: Type.Record(Type.String(), Type.String()),
      startsAt: Type.Optional(Type.String()),
      generatorURL: Type.Optional(Type.String()),
    }),
  ),
});

const Unfrozen = Type.Object({
  ...FreezeState.properties,
  lifted: Type.Union([Type.Object(FreezeState.properties), Type.Null()], { description: 'the freeze that was lifted; null if there was none' }),
});

// Alertmanager sends a whole group (up to MAX_ALERTS_PER_NOTIFICATION alerts): a safety stop is
// never refused for its size.
const WEBHOOK_LIMIT = '16mb';

/** A sender's webhook: its notification, read into alerts (guards/alerts.ts), goes to the one alert handler. */
function webhook<B extends TSchema>(safety: Safety, sender: 'alertmanager' | 'grafana', schema: B, what: string, summary: string, alerts: (body: Static<B>) => Alert[]): Route {
  return route({
    method: 'POST',
    path: `/api/v1/alerts/${sender}`,
    role: 'webhook',
    summary,
    body: { schema, name: schema.$id, what, limit: WEBHOOK_LIMIT },
    response: { description: 'what the notification aborted or froze', schema: AlertWebhookResult, name: 'AlertWebhookResult' },
    handler: ({ body, actor }) => safety.alerts.handle(alerts(body), actor),
  });
}

export function safetyRoutes(safety: Safety): Route[] {
  return [
    webhook(safety, 'alertmanager', AlertmanagerWebhook, 'Alertmanager notification', 'Alertmanager webhook (v4): firing alerts abort the experiments they guard', fromAlertmanager),
    webhook(safety, 'grafana', GrafanaWebhook, 'Grafana notification', 'Grafana webhook contact point: as the Alertmanager webhook', fromGrafana),
    route({
      method: 'GET',
      path: '/api/v1/alerts',
      role: 'viewer',
      summary: 'alerts firing now (from webhooks)',
      response: { description: 'firing alerts', schema: FiringAlerts },
      handler: () => ({
        items: safety.alerts.firing.list().map((a) => ({
          name: alertName(a),
          fingerprint: a.fingerprint,
          source: a.source,
          labels: a.labels,
          startsAt: a.startsAt,
          generatorURL: a.generatorURL,
        })),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/freeze',
      role: 'viewer',
      summary: 'emergency freeze state',
      response: { description: 'the freeze state', schema: FreezeState, name: 'FreezeState' },
      handler: () => safety.freeze.state(),
    }),
    route({
      method: 'POST',
      path: '/api/v1/freeze',
      role: 'operator',
      summary: 'freeze: stop every experiment and refuse starts, resumes and scheduled runs',
      body: { schema: FreezeRequest, name: 'FreezeRequest', what: 'freeze request' },
      response: { description: 'frozen', schema: FreezeState, name: 'FreezeState' },
      handler: ({ body, actor }) => safety.freeze.freeze(body, actor),
    }),
    route({
      method: 'DELETE',
      path: '/api/v1/freeze',
      role: 'admin',
      summary: 'lift the freeze',
      response: { description: 'the state after, and the lifted freeze', schema: Unfrozen },
      handler: ({ actor }) => {
        const before = safety.freeze.unfreeze(actor);
        return { ...safety.freeze.state(), lifted: before.frozen ? before : null };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/policy',
      role: 'viewer',
      summary: 'the blast radius policy in force',
      response: { description: 'the policy', schema: BlastRadiusPolicy, name: 'BlastRadiusPolicy' },
      handler: () => safety.policy.rules,
    }),
  ];
}
