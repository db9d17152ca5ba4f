import type { TSchema } from '@sinclair/typebox';
import { AlertmanagerWebhook, AlertWebhookResult, FreezeRequest, FreezeState, GrafanaWebhook } from '../../api/alerts';
import { BlastRadiusPolicy } from '../policy';

// The safety routes' part of /api/v1/openapi.json (merged by exporter/openapi.ts).

const plain = (s: TSchema) => JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const err = (description: string) => ({ description, content: json('ErrorBody') });
const auth = { '401': err('no or bad token'), '403': err('role too low') };

export function safetyOpenapi(): { schemas: Record<string, unknown>; paths: Record<string, unknown> } {
  const webhook = (summary: string, body: string) => ({
    post: {
      summary,
      requestBody: { required: true, content: json(body) },
      responses: { '200': { description: 'what the notification aborted or froze', content: json('AlertWebhookResult') }, '400': err('malformed notification: nothing aborted'), ...auth },
    },
  });
  return {
    schemas: {
      AlertmanagerWebhook: plain(AlertmanagerWebhook),
      GrafanaWebhook: plain(GrafanaWebhook),
      AlertWebhookResult: plain(AlertWebhookResult),
      FreezeRequest: plain(FreezeRequest),
      FreezeState: plain(FreezeState),
      BlastRadiusPolicy: plain(BlastRadiusPolicy),
    },
    paths: {
      '/api/v1/alerts/alertmanager': webhook('Alertmanager webhook (v4): firing alerts abort the experiments they guard (role alerting or operator)', 'AlertmanagerWebhook'),
      '/api/v1/alerts/grafana': webhook('Grafana webhook contact point: as the Alertmanager webhook', 'GrafanaWebhook'),
      '/api/v1/alerts': { get: { summary: 'alerts firing now (from webhooks)', responses: { '200': { description: 'ok' }, ...auth } } },
      '/api/v1/freeze': {
        get: { summary: 'emergency freeze state', responses: { '200': { description: 'ok', content: json('FreezeState') }, ...auth } },
        post: {
          summary: 'freeze: stop every experiment and refuse starts, resumes and scheduled runs (operator)',
          requestBody: { required: true, content: json('FreezeRequest') },
          responses: { '200': { description: 'frozen', content: json('FreezeState') }, '400': err('bad reason or until'), ...auth },
        },
        delete: { summary: 'lift the freeze (admin)', responses: { '200': { description: 'state after, and the lifted freeze' }, ...auth } },
      },
      '/api/v1/policy': { get: { summary: 'blast radius policy in force', responses: { '200': { description: 'ok', content: json('BlastRadiusPolicy') }, ...auth } } },
    },
  };
}
