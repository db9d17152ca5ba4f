import { Type, type Static } from '@sinclair/typebox';
import { Duration } from './common';
import { AbortedBy } from './alerts';

// Experiment reports: what the chaos did (timeline, targets, guards) and what it did to the
// application (SLIs from Prometheus before, during and after the fault).

export const Sli = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    expr: Type.String({ minLength: 1, maxLength: 4096, description: 'PromQL giving one series (several are combined by max)' }),
    unit: Type.Optional(Type.Union([Type.Literal('ratio'), Type.Literal('seconds'), Type.Literal('')], { default: '' })),
    tolerance: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: 0.1, description: 'relative distance from the baseline mean that counts as recovered (0.1 = 10 %)' })),
    absoluteTolerance: Type.Optional(Type.Number({ minimum: 0, default: 0, description: 'absolute distance that always counts as recovered (for baselines near 0)' })),
  },
  { additionalProperties: false },
);
export type Sli = Static<typeof Sli>;

export const ReportSpec = Type.Object(
  {
    slis: Type.Optional(Type.Array(Sli, { maxItems: 16, description: 'default: the demo service\'s error ratio and p99 latency' })),
    baseline: Duration({ default: '5m', description: 'window before the chaos used as the baseline' }),
    after: Duration({ default: '5m', description: 'window after recovery in which the SLI must come back' }),
  },
  { additionalProperties: false },
);
export type ReportSpec = Static<typeof ReportSpec>;

export const WindowStats = Type.Object({
  from: Type.String(),
  to: Type.String(),
  mean: Type.Union([Type.Number(), Type.Null()]),
  max: Type.Union([Type.Number(), Type.Null()]),
  samples: Type.Integer(),
  partial: Type.Optional(Type.Boolean({ description: 'the window is not over yet (experiment running, or after-window in the future): figures so far' })),
});
export type WindowStats = Static<typeof WindowStats>;

export const SliResult = Type.Object({
  name: Type.String(),
  expr: Type.String(),
  unit: Type.String(),
  baseline: WindowStats,
  during: WindowStats,
  after: WindowStats,
  /** Seconds from recovery until the SLI is back within tolerance of the baseline (null: not within the window). */
  recoverySeconds: Type.Union([Type.Number(), Type.Null()]),
  points: Type.Array(Type.Tuple([Type.Number(), Type.Number()]), { description: '[epoch seconds, value]' }),
  error: Type.Optional(Type.String()),
});
export type SliResult = Static<typeof SliResult>;

export const Report = Type.Object(
  {
    experiment: Type.Object({ namespace: Type.String(), name: Type.String(), uid: Type.String(), kind: Type.String() }),
    phase: Type.String(),
    outcome: Type.String({ description: 'Finished, Aborted (with the reason), Failed, or the current phase' }),
    startedAt: Type.Optional(Type.String()),
    endedAt: Type.Optional(Type.String()),
    durationSeconds: Type.Optional(Type.Number()),
    guard: Type.Optional(
      Type.Object({
        type: Type.String(),
        message: Type.String(),
        time: Type.String(),
        alert: Type.Optional({ ...AbortedBy, description: 'the alert that aborted the run, with its labels and generatorURL' }),
      }),
    ),
    targets: Type.Array(
      Type.Object({ description: Type.String(), daemon: Type.String(), phase: Type.String(), injectedAt: Type.Optional(Type.String()), recoveredAt: Type.Optional(Type.String()), error: Type.Optional(Type.String()) }),
    ),
    timeline: Type.Array(Type.Object({ time: Type.String(), type: Type.String(), target: Type.Optional(Type.String()), message: Type.String(), actor: Type.Optional(Type.String()) })),
    slis: Type.Array(SliResult),
    prometheus: Type.Optional(Type.String({ description: 'why SLIs are missing, when they are, and how to get them' })),
    pending: Type.Optional(Type.String({ description: 'which SLI windows are not finished yet, and when they are' })),
  },
  { $id: 'Report' },
);
export type Report = Static<typeof Report>;
