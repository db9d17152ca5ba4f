import { Type, type TSchema } from '@sinclair/typebox';
import { ErrorBody } from '../api/errors';
import { EventQuery, FaultlineEvent } from '../api/events';
import { Experiment, ExperimentInput } from '../api/experiment';
import { Health, KindList, TargetList } from '../api/targets';
import { safetyOpenapi } from './guards/openapi';

// /api/v1/openapi.json, generated from the same TypeBox schemas the exporter validates with.

function strip(schema: TSchema): Record<string, unknown> {
  // TypeBox keeps its symbol keys out of JSON; a round trip leaves plain JSON schema.
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const errors = {
  '400': { description: 'invalid input: details name each field', content: json('ErrorBody') },
  '401': { description: 'no or bad token', content: json('ErrorBody') },
  '403': { description: 'role too low, or policy', content: json('ErrorBody') },
};
const refPath = [
  { name: 'namespace', in: 'path', required: true, schema: { type: 'string' } },
  { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
];
const action = (summary: string) => ({
  post: {
    summary,
    parameters: refPath,
    responses: { '200': { description: 'the experiment after the action', content: json('Experiment') }, '404': { description: 'not found', content: json('ErrorBody') }, '409': { description: 'not possible in this phase', content: json('ErrorBody') }, ...errors },
  },
});

function queryParams(schema: TSchema): unknown[] {
  const props = (schema as unknown as { properties: Record<string, { description?: string }> }).properties;
  return Object.entries(props).map(([name, s]) => ({ name, in: 'query', required: false, schema: { type: 'string' }, ...(s.description ? { description: s.description } : {}) }));
}

export function openapi(version: string): Record<string, unknown> {
  const safety = safetyOpenapi();
  return {
    openapi: '3.1.0',
    info: { title: 'Faultline exporter API', version },
    components: {
      schemas: {
        Experiment: strip(Experiment),
        ExperimentInput: strip(ExperimentInput),
        ExperimentList: strip(Type.Object({ items: Type.Array(Type.Unsafe(ref('Experiment'))) })),
        Event: strip(FaultlineEvent),
        EventList: strip(Type.Object({ items: Type.Array(Type.Unsafe(ref('Event'))), nextCursor: Type.Optional(Type.String()) })),
        KindList: strip(KindList),
        TargetList: strip(TargetList),
        Health: strip(Health),
        ErrorBody: strip(ErrorBody),
        ...safety.schemas,
      },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }, {}],
    paths: {
      '/api/v1/health': { get: { summary: 'health and daemons', responses: { '200': { description: 'ok', content: json('Health') } } } },
      '/api/v1/experiments': {
        get: {
          summary: 'list experiments',
          parameters: ['namespace', 'kind', 'phase', 'name', 'experiment', 'target', 'schedule'].map((n) => ({ name: n, in: 'query', schema: { type: 'string' } })),
          responses: { '200': { description: 'experiments, newest first', content: json('ExperimentList') }, ...errors },
        },
        post: {
          summary: 'create an experiment (or a schedule)',
          requestBody: { required: true, content: json('ExperimentInput') },
          responses: {
            '201': { description: 'created; injection starts right away', content: json('Experiment') },
            '409': { description: 'name taken, or refused by a pre-start check (freeze, guard, policy)', content: json('ErrorBody') },
            '422': { description: 'kind unsupported on the selected daemons', content: json('ErrorBody') },
            ...errors,
          },
        },
      },
      '/api/v1/experiments/{namespace}/{name}': {
        get: { summary: 'one experiment', parameters: refPath, responses: { '200': { description: 'ok', content: json('Experiment') }, '404': { description: 'not found', content: json('ErrorBody') } } },
        delete: { summary: 'stop (recovering every target) and delete', parameters: refPath, responses: { '200': { description: 'the deleted experiment', content: json('Experiment') }, '404': { description: 'not found', content: json('ErrorBody') } } },
      },
      '/api/v1/experiments/{namespace}/{name}/pause': action('recover the faults, keep the experiment (a schedule: suspend)'),
      '/api/v1/experiments/{namespace}/{name}/resume': action('inject again (a schedule: resume ticking)'),
      '/api/v1/experiments/{namespace}/{name}/stop': action('recover and end as Finished (a schedule: stop it and its runs)'),
      '/api/v1/stop-all': {
        post: { summary: 'abort every active experiment', responses: { '200': { description: 'what was stopped', content: { 'application/json': { schema: { type: 'object', properties: { stopped: { type: 'array' } } } } } }, ...errors } },
      },
      '/api/v1/events': { get: { summary: 'events, oldest first, cursor paginated', parameters: queryParams(EventQuery), responses: { '200': { description: 'ok', content: json('EventList') }, ...errors } } },
      '/api/v1/events/stream': {
        get: {
          summary: 'Server-Sent Events: `id:` + `data: <Event JSON>`; Last-Event-ID (header or query lastEventId) replays what was missed',
          parameters: ['namespace', 'experiment', 'kind', 'type', 'lastEventId'].map((n) => ({ name: n, in: 'query', schema: { type: 'string' } })),
          responses: { '200': { description: 'text/event-stream' } },
        },
      },
      '/api/v1/kinds': { get: { summary: 'fault kinds with params JSON schema and support per daemon', responses: { '200': { description: 'ok', content: json('KindList') } } } },
      '/api/v1/targets': { get: { summary: 'what local selectors can pick now', responses: { '200': { description: 'ok', content: json('TargetList') } } } },
      '/api/v1/openapi.json': { get: { summary: 'this document', responses: { '200': { description: 'ok' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain' } } } },
      ...safety.paths,
    },
  };
}
