import { Type } from '@sinclair/typebox';
import { Workflow, WorkflowInput } from '../../api/workflow';
import { getAndDelete, namedRef, route, type Route } from '../routes/route';
import type { WorkflowEngine } from './engine';

// Workflow routes, in the same style as the experiment routes: list, create, get, delete, abort.

const ListQuery = Type.Object(
  {
    namespace: Type.Optional(Type.String()),
    phase: Type.Optional(Type.String({ description: 'Pending, Running, Succeeded, Failed or Aborted' })),
  },
  { additionalProperties: false },
);

const WF = '/api/v1/workflows/:namespace/:name';
const one = { schema: Workflow, name: 'Workflow' };

export function workflowRoutes(w: WorkflowEngine): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/workflows',
      role: 'viewer',
      summary: 'list workflows',
      query: ListQuery,
      response: { description: 'workflows', schema: Type.Object({ items: Type.Array(Workflow) }), name: 'WorkflowList' },
      handler: ({ query: q }) => ({ items: w.list({ namespace: q.namespace || undefined, phase: q.phase || undefined }) }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/workflows',
      role: 'operator',
      summary: 'create a workflow (serial/parallel steps of experiments, suspends and checks); it starts right away',
      // validated by the workflow engine: each experiment step as the experiment it will become
      body: { schema: WorkflowInput, name: 'WorkflowInput' },
      response: { status: 201, description: 'created', ...one },
      errors: { 409: 'name taken, or refused by a pre-start check (freeze, policy)' },
      handler: ({ body, actor }) => w.create(body, actor),
    }),
    ...getAndDelete(WF, 'workflow', one, ['one workflow with the status of each step', (ref) => w.get(ref)], ['abort (stopping its experiments) and delete', (ref, actor) => w.delete(ref, actor)]),
    route({
      method: 'POST',
      path: `${WF}/abort`,
      role: 'operator',
      summary: 'abort: stop the running steps and their experiments, skip the rest',
      response: { description: 'the workflow after the abort', ...one },
      errors: { 404: 'no such workflow' },
      handler: ({ params, actor }) => w.abort(namedRef(params), 'aborted', actor),
    }),
  ];
}
