import { Type } from '@sinclair/typebox';
import { Experiment, ExperimentInput, StopAllResult, type ExperimentList } from '../../api/experiment';
import type { Engine } from '../engine/lifecycle';
import { getAndDelete, namedRef, route, type Route } from './route';

// Experiments: list (filters), create, get, delete, the actions, and stop-all.

const ListQuery = Type.Object(
  {
    namespace: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    phase: Type.Optional(Type.String({ description: 'one phase or several, comma separated' })),
    name: Type.Optional(Type.String()),
    experiment: Type.Optional(Type.String({ description: 'same as name' })),
    target: Type.Optional(Type.String({ description: 'substring of a target description or daemon' })),
    schedule: Type.Optional(Type.String({ description: 'only the runs of this schedule' })),
  },
  { additionalProperties: false },
);

const ExperimentListSchema = Type.Object({ items: Type.Array(Experiment) });

const one = { schema: Experiment, name: 'Experiment' };
const EXP = '/api/v1/experiments/:namespace/:name';

export function experimentRoutes(engine: Engine): Route[] {
  const action = (verb: 'pause' | 'resume' | 'stop', summary: string) =>
    route({
      method: 'POST',
      path: `${EXP}/${verb}`,
      role: 'operator',
      summary,
      response: { description: 'the experiment after the action', ...one },
      errors: { 404: 'no such experiment', 409: 'not possible in this phase' },
      handler: ({ params, actor }) => engine[verb](namedRef(params), actor),
    });
  return [
    route({
      method: 'GET',
      path: '/api/v1/experiments',
      role: 'viewer',
      summary: 'list experiments, newest first',
      query: ListQuery,
      response: { description: 'experiments, newest first', schema: ExperimentListSchema, name: 'ExperimentList' },
      handler: ({ query: q }): ExperimentList => ({ items: engine.list({ ...q, name: q.name ?? q.experiment }) }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/experiments',
      role: 'operator',
      summary: 'create an experiment (or a schedule); injection starts right away',
      // validated by the engine (engine/experiment-input.ts: the kind's params, durations, targets)
      body: { schema: ExperimentInput, name: 'ExperimentInput' },
      response: { status: 201, description: 'created; injection starts right away', ...one },
      errors: { 409: 'name taken, or refused by a pre-start check (freeze, guard, policy)', 422: 'kind unsupported on the selected daemons, or a target invalid or protected', 503: 'shutting down, or a PromQL guard cannot be evaluated' },
      handler: ({ body, actor }) => engine.create(body, actor),
    }),
    ...getAndDelete(EXP, 'experiment', one, ['one experiment', (ref) => engine.get(ref)], ['stop (recovering every target) and delete', (ref, actor) => engine.delete(ref, actor)]),
    action('pause', 'recover the faults, keep the experiment (a schedule: suspend)'),
    action('resume', 'inject again (a schedule: resume ticking)'),
    action('stop', 'recover and end as Finished (a schedule: stop it and its runs)'),
    route({
      method: 'POST',
      path: '/api/v1/stop-all',
      role: 'operator',
      summary: 'abort every active experiment (any body is ignored: stopping never fails on a confused client)',
      response: { description: 'what was stopped: runs, schedules suspended, workflows aborted', schema: StopAllResult, name: 'StopAllResult' },
      handler: ({ actor }) => engine.stopAll(actor),
    }),
  ];
}
