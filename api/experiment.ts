import { Type, type Static } from '@sinclair/typebox';
import { AbortedBy } from './alerts';
import { ReportSpec } from './report';
import { CgroupPath, Duration, NetnsRef, ObjectName, InterfaceName } from './common';
import { SELECTOR_FORMAT } from './matchers';
import { RegexString } from './regex';

// the alert that aborted a run (status.abortedBy) is an alert shape: defined in api/alerts.ts
export { AbortedBy } from './alerts';

// The Experiment resource, Kubernetes style. `spec` is what the user asks for; `status` is what
// the exporter reports. The fault's params are checked against the kind's own schema
// (api/kinds) in a second step, so the error names `/spec/fault/params/<field>`.

export const API_VERSION = 'faultline.dev/v1alpha1';

export const PHASES = ['Pending', 'Injecting', 'Running', 'Paused', 'Recovering', 'Finished', 'Aborted', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];
export const TERMINAL_PHASES: readonly Phase[] = ['Finished', 'Aborted', 'Failed'];
export const ACTIVE_PHASES: readonly Phase[] = ['Pending', 'Injecting', 'Running', 'Paused', 'Recovering'];

/**
 * Per target. `Unreachable`: its daemon did not answer when the exporter restarted; the fault is
 * presumably still applied (the daemon holds it under its lease), and it is reconciled when the
 * daemon answers again. `Gone`: the target process exited while the fault was on it; nothing is
 * left to revert there.
 */
export const TARGET_PHASES = ['Pending', 'Injecting', 'Injected', 'Recovering', 'Recovered', 'Failed', 'Unreachable', 'Gone'] as const;
export type TargetPhase = (typeof TARGET_PHASES)[number];

export const Metadata = Type.Object(
  {
    name: ObjectName,
    namespace: Type.Optional({ ...ObjectName, default: 'default' }),
    labels: Type.Optional(Type.Record(Type.String({ maxLength: 63 }), Type.String({ maxLength: 253 }))),
    annotations: Type.Optional(Type.Record(Type.String({ maxLength: 253 }), Type.String({ maxLength: 4096 }))),
    uid: Type.Optional(Type.String({ readOnly: true })),
    creationTimestamp: Type.Optional(Type.String({ readOnly: true })),
  },
  { additionalProperties: false },
);

export const LocalSelector = Type.Object(
  {
    pids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 1024 })),
    processName: Type.Optional(RegexString('regular expression over the process name (comm) and command line, matching any part of either', { maxLength: 256 })),
    cgroups: Type.Optional(Type.Array(CgroupPath, { maxItems: 256 })),
    netns: Type.Optional(Type.Array(NetnsRef, { maxItems: 256 })),
    interface: Type.Optional(InterfaceName),
    daemons: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 256, description: 'daemon names (hosts) to act on; default all' })),
  },
  { additionalProperties: true, description: 'local mode selector; Kubernetes selector fields are accepted in Kubernetes mode' },
);

/** How many of the matching targets an experiment takes (Chaos Mesh's modes). */
export const TARGET_MODES = ['one', 'all', 'fixed', 'fixed-percent', 'random-max-percent'] as const;
export const TargetMode = Type.Union(
  TARGET_MODES.map((m) => Type.Literal(m)),
  { default: 'all' },
);
export type TargetMode = Static<typeof TargetMode>;

export const Targets = Type.Object(
  {
    selector: LocalSelector,
    mode: TargetMode,
    value: Type.Optional(Type.String({ pattern: '^[0-9]+$', description: 'count for fixed, percent for the percent modes' })),
  },
  { additionalProperties: false },
);

export const Matcher = Type.String({
  minLength: 3,
  maxLength: 1024,
  format: SELECTOR_FORMAT,
  description: 'Prometheus label matcher, e.g. alertname="HighErrorRate" or service=~"api|web" (=~ and !~ take RE2 syntax, as in Prometheus, and match the whole value)',
});

export const PromqlGuard = Type.Object(
  {
    expr: Type.String({ minLength: 1, maxLength: 4096 }),
    for: Duration({ default: '0s' }),
    interval: Duration({ default: '5s' }),
  },
  { additionalProperties: false },
);

export const Guards = Type.Object(
  {
    alerts: Type.Optional(Type.Array(Matcher, { maxItems: 64 })),
    promql: Type.Optional(Type.Array(PromqlGuard, { maxItems: 16 })),
  },
  { additionalProperties: false },
);

export const ExperimentSpec = Type.Object(
  {
    fault: Type.Object(
      { kind: Type.String({ minLength: 1, maxLength: 63 }), params: Type.Record(Type.String(), Type.Unknown(), { default: {} }) },
      { additionalProperties: false },
    ),
    targets: Type.Optional(Targets),
    duration: Duration({ description: 'how long the fault stays injected, e.g. 30s, 5m' }),
    schedule: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'cron expression; each tick starts a run' })),
    concurrencyPolicy: Type.Optional(Type.Union([Type.Literal('Forbid'), Type.Literal('Allow')], { default: 'Forbid' })),
    historyLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 10 })),
    guards: Type.Optional(Guards),
    report: Type.Optional(ReportSpec),
  },
  { additionalProperties: false },
);
export type ExperimentSpec = Static<typeof ExperimentSpec>;

export const TargetStatus = Type.Object({
  id: Type.String({ description: 'stable id of the target within the experiment' }),
  daemon: Type.String(),
  target: Type.Record(Type.String(), Type.Unknown()),
  description: Type.String(),
  phase: Type.Union(TARGET_PHASES.map((p) => Type.Literal(p))),
  injectedAt: Type.Optional(Type.String()),
  recoveredAt: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
});
export type TargetStatus = Static<typeof TargetStatus>;

export const Condition = Type.Object({
  type: Type.String(),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  lastTransitionTime: Type.String(),
});
export type Condition = Static<typeof Condition>;

/** For an experiment with `spec.schedule`: the schedule itself never injects; each tick creates a run. */
export const ScheduleStatus = Type.Object({
  nextRunAt: Type.Optional(Type.String({ description: 'when the next run starts (absent while suspended or stopped)' })),
  lastRunAt: Type.Optional(Type.String()),
  lastRun: Type.Optional(Type.String({ description: 'name of the latest run' })),
  active: Type.Array(Type.String(), { description: 'names of the runs not ended yet' }),
});
export type ScheduleStatus = Static<typeof ScheduleStatus>;

export const ExperimentStatus = Type.Object({
  phase: Type.Union(PHASES.map((p) => Type.Literal(p))),
  startedAt: Type.Optional(Type.String({ description: 'when the first target was injected' })),
  endsAt: Type.Optional(Type.String({ description: 'startedAt + duration; kept across pauses and exporter restarts' })),
  endedAt: Type.Optional(Type.String({ description: 'when the last target was recovered (or the run ended)' })),
  schedule: Type.Optional(ScheduleStatus),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  abortedBy: Type.Optional(AbortedBy),
  targets: Type.Array(TargetStatus),
  conditions: Type.Array(Condition),
});
export type ExperimentStatus = Static<typeof ExperimentStatus>;

/** What a client sends (apply / POST). */
export const ExperimentInput = Type.Object(
  {
    apiVersion: Type.Optional(Type.Literal(API_VERSION)),
    kind: Type.Optional(Type.Literal('Experiment')),
    metadata: Metadata,
    spec: ExperimentSpec,
  },
  { additionalProperties: false, $id: 'ExperimentInput' },
);
export type ExperimentInput = Static<typeof ExperimentInput>;

/** What the server returns. */
export const Experiment = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal('Experiment'),
    metadata: Type.Object({
      name: Type.String(),
      namespace: Type.String(),
      labels: Type.Optional(Type.Record(Type.String(), Type.String())),
      annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
      uid: Type.String(),
      creationTimestamp: Type.String(),
    }),
    spec: ExperimentSpec,
    status: ExperimentStatus,
  },
  { $id: 'Experiment' },
);
export type Experiment = Static<typeof Experiment>;

/** `GET /api/v1/experiments`. */
export const ExperimentList = Type.Object({ items: Type.Array(Experiment) }, { $id: 'ExperimentList' });
export type ExperimentList = Static<typeof ExperimentList>;

/** Label that links a scheduled run to its schedule (the experiment with `spec.schedule`). */
export const SCHEDULE_LABEL = 'faultline.dev/schedule';

const ObjectRef = Type.Object({ namespace: Type.String(), name: Type.String() });

/**
 * `POST /api/v1/stop-all` (and what a freeze does first): every active run aborted with its faults
 * reverted, every ticking schedule suspended (phase Paused; `POST .../resume` each to start it
 * again), every running workflow aborted (a workflow cannot pick up mid-step).
 */
export const StopAllResult = Type.Object(
  {
    stopped: Type.Array(ObjectRef, { description: 'experiments aborted, their faults reverted' }),
    suspendedSchedules: Type.Array(ObjectRef, { description: 'schedules suspended (phase Paused): no run starts until each is resumed' }),
    abortedWorkflows: Type.Array(ObjectRef, { description: 'workflows aborted' }),
    message: Type.String(),
  },
  { $id: 'StopAllResult' },
);
export type StopAllResult = Static<typeof StopAllResult>;
