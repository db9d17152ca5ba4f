import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Duration, ObjectName } from './common';
import { ExperimentSpec, Metadata } from './experiment';

// Workflows: several faults and checks as one scenario. A step is exactly one of an experiment,
// a serial or parallel group of steps, a suspend (wait), or a check (PromQL or HTTP) whose failure
// fails or aborts the whole workflow. Every step may carry its own deadline. An experiment step whose
// spec has a `schedule` (cron) is a scheduled step: its schedule ticks for the step's `deadline`
// (required there), then is stopped like a user's stop would, and the step goes on.

export const WORKFLOW_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Aborted'] as const;
export type WorkflowPhase = (typeof WORKFLOW_PHASES)[number];
export const STEP_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Aborted', 'Skipped'] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

export const PromqlCheck = Type.Object(
  {
    expr: Type.String({ minLength: 1, maxLength: 4096 }),
    expect: Type.Union([Type.Literal('non-empty'), Type.Literal('empty')], { default: 'non-empty', description: 'the check passes when the result is non-empty (or empty)' }),
  },
  { additionalProperties: false },
);

export const HttpCheck = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048, description: 'http(s) URL to call' }),
    method: Type.Union([Type.Literal('GET'), Type.Literal('HEAD'), Type.Literal('POST')], { default: 'GET' }),
    status: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1, maxItems: 32, default: [200], description: 'statuses that pass' }),
  },
  { additionalProperties: false },
);

export const Check = Type.Object(
  {
    promql: Type.Optional(PromqlCheck),
    http: Type.Optional(HttpCheck),
    timeout: Duration({ default: '30s', description: 'the check fails when it has not passed by then' }),
    interval: Duration({ default: '2s', description: 'time between evaluations' }),
    onFailure: Type.Union([Type.Literal('fail'), Type.Literal('abort')], { default: 'fail', description: 'fail: the workflow ends Failed; abort: it ends Aborted' }),
  },
  { additionalProperties: false },
);
export type Check = Static<typeof Check>;

const StepFields = <T extends TSchema>(self: T) => ({
  name: ObjectName,
  deadline: Type.Optional(Duration({ description: 'the step fails when it runs longer; for an experiment with spec.schedule (required there): how long the schedule ticks before it is stopped and the step succeeds' })),
  experiment: Type.Optional(
    Type.Object(
      { labels: Type.Optional(Type.Record(Type.String({ maxLength: 63 }), Type.String({ maxLength: 253 }))), spec: ExperimentSpec },
      { additionalProperties: false },
    ),
  ),
  serial: Type.Optional(Type.Object({ steps: Type.Array(self, { minItems: 1, maxItems: 64 }) }, { additionalProperties: false })),
  parallel: Type.Optional(Type.Object({ steps: Type.Array(self, { minItems: 1, maxItems: 64 }) }, { additionalProperties: false })),
  suspend: Type.Optional(Type.Object({ duration: Duration() }, { additionalProperties: false })),
  check: Type.Optional(Check),
});

export const Step = Type.Recursive((self) => Type.Object(StepFields(self), { additionalProperties: false }), { $id: 'WorkflowStep' });
export type Step = Static<typeof Step>;

export const WorkflowSpec = Type.Object(
  {
    steps: Type.Array(Step, { minItems: 1, maxItems: 64, description: 'run one after the other' }),
    deadline: Type.Optional(Duration({ description: 'the whole workflow fails when it runs longer' })),
  },
  { additionalProperties: false },
);
export type WorkflowSpec = Static<typeof WorkflowSpec>;

export const WorkflowInput = Type.Object(
  {
    apiVersion: Type.Optional(Type.Literal('faultline.dev/v1alpha1')),
    kind: Type.Literal('Workflow'),
    metadata: Metadata,
    spec: WorkflowSpec,
  },
  { additionalProperties: false, $id: 'WorkflowInput' },
);
export type WorkflowInput = Static<typeof WorkflowInput>;

export const StepStatus = Type.Object({
  path: Type.String({ description: 'step names from the top, joined by /' }),
  type: Type.Union(['experiment', 'serial', 'parallel', 'suspend', 'check'].map((t) => Type.Literal(t))),
  phase: Type.Union(STEP_PHASES.map((p) => Type.Literal(p))),
  startedAt: Type.Optional(Type.String()),
  endedAt: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  experiment: Type.Optional(Type.String({ description: 'name of the experiment an experiment step created' })),
  runs: Type.Optional(Type.Integer({ minimum: 0, description: 'scheduled step: how many runs its schedule started' })),
});
export type StepStatus = Static<typeof StepStatus>;

export const Workflow = Type.Object(
  {
    apiVersion: Type.Literal('faultline.dev/v1alpha1'),
    kind: Type.Literal('Workflow'),
    metadata: Type.Object({ name: Type.String(), namespace: Type.String(), uid: Type.String(), creationTimestamp: Type.String(), labels: Type.Optional(Type.Record(Type.String(), Type.String())) }),
    spec: WorkflowSpec,
    status: Type.Object({
      phase: Type.Union(WORKFLOW_PHASES.map((p) => Type.Literal(p))),
      startedAt: Type.Optional(Type.String()),
      endedAt: Type.Optional(Type.String()),
      reason: Type.Optional(Type.String()),
      message: Type.Optional(Type.String()),
      steps: Type.Array(StepStatus),
    }),
  },
  { $id: 'Workflow' },
);
export type Workflow = Static<typeof Workflow>;

/** Which kind of step this is; exactly one of the step fields must be set. */
export function stepType(s: Step): StepStatus['type'] | undefined {
  const set = (['experiment', 'serial', 'parallel', 'suspend', 'check'] as const).filter((k) => s[k] !== undefined);
  return set.length === 1 ? set[0] : undefined;
}
