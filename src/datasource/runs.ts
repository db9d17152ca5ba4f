import { TERMINAL_PHASES, type Phase } from '../../api/experiment';
import type { Experiment, FaultlineEvent } from './types';

// An experiment *run* is one injection of one experiment: the unit of an annotation region and of
// the "active faults" series. Runs are rebuilt from the event history (which survives deletes and
// covers every run of a scheduled experiment) and completed with the experiments' current status
// (params, target descriptions, and the start of runs that began before the time range).

export type RunOutcome = 'running' | 'paused' | 'finished' | 'aborted' | 'failed';

export interface Run {
  key: string;
  uid?: string;
  experiment: string;
  namespace: string;
  kind: string;
  /** Epoch ms the fault was first injected (or the run's first event if it never was). */
  start: number;
  /** Epoch ms the fault was recovered / the run ended; undefined while it is still on. */
  end?: number;
  outcome: RunOutcome;
  targets: string[];
  params?: Record<string, unknown>;
  /** Why the run ended early: the guard/alert that fired, or the failure. */
  reason?: string;
  /** The start is the range start: the run's injection is older than the events we have. */
  clipped?: boolean;
}

const END_TYPES: Record<string, RunOutcome> = { finished: 'finished', aborted: 'aborted', failed: 'failed' };

const ms = (t: string | undefined): number | undefined => {
  if (!t) return undefined;
  const n = Date.parse(t);
  return Number.isNaN(n) ? undefined : n;
};

const runKey = (uid: string | undefined, namespace: string | undefined, name: string | undefined): string =>
  uid ?? `${namespace ?? 'default'}/${name ?? ''}`;

interface Draft {
  run: Run;
  firstSeen: number;
  /** First and last injection: a pause recovers the faults and a resume injects them again. */
  injected?: number;
  lastInjected?: number;
  lastRecovered?: number;
  ended?: number;
}

/**
 * Builds runs from events (any order). `rangeFrom` clips runs whose start is before the events we
 * have (their first events fell before the range).
 */
export function runsFromEvents(events: FaultlineEvent[], rangeFrom?: number): Map<string, Run> {
  const drafts = new Map<string, Draft>();
  const sorted = [...events].sort((a, b) => a.id - b.id);
  for (const ev of sorted) {
    if (!ev.experiment) continue; // daemon-up/down, freeze: not part of a run
    const t = ms(ev.time);
    if (t === undefined) continue;
    const key = runKey(ev.uid, ev.namespace, ev.experiment);
    let d = drafts.get(key);
    if (!d) {
      d = {
        firstSeen: t,
        run: {
          key,
          uid: ev.uid,
          experiment: ev.experiment,
          namespace: ev.namespace ?? 'default',
          kind: ev.kind ?? 'unknown',
          start: t,
          outcome: 'running',
          targets: [],
        },
      };
      drafts.set(key, d);
    }
    const run = d.run;
    if (ev.kind && run.kind === 'unknown') run.kind = ev.kind;
    if (ev.target && !run.targets.includes(ev.target)) run.targets.push(ev.target);
    switch (ev.type) {
      case 'injected':
      case 'running':
        d.injected = Math.min(d.injected ?? t, t);
        d.lastInjected = Math.max(d.lastInjected ?? t, t);
        break;
      case 'recovered':
        d.lastRecovered = Math.max(d.lastRecovered ?? t, t);
        break;
      case 'paused':
        if (!d.ended) run.outcome = 'paused';
        break;
      case 'resumed':
        if (!d.ended) run.outcome = 'running';
        break;
      case 'guard-fired':
        run.reason = ev.message;
        break;
      default:
        if (END_TYPES[ev.type]) {
          run.outcome = END_TYPES[ev.type];
          d.ended = t;
          // The alert that stopped the run is named by guard-fired; keep it over the generic message.
          if (ev.type !== 'finished' && !run.reason) run.reason = ev.message;
        }
    }
  }
  const out = new Map<string, Run>();
  for (const [key, d] of drafts) {
    const { run } = d;
    // Only recoveries/an end in range, no injection: the run began before the events we have.
    const startedBeforeRange = d.injected === undefined && (d.lastRecovered !== undefined || d.ended !== undefined) && rangeFrom !== undefined;
    run.start = d.injected ?? (startedBeforeRange ? Math.min(rangeFrom!, d.firstSeen) : d.firstSeen);
    if (d.injected === undefined && startedBeforeRange) run.clipped = true;
    // The region ends when the faults were recovered for the last time, once the run has ended;
    // recoveries of a pause are not the end. While the run goes on, there is no end yet.
    const recoveredLast = d.lastRecovered !== undefined && d.lastRecovered >= (d.lastInjected ?? -Infinity);
    run.end = d.ended === undefined ? undefined : recoveredLast ? d.lastRecovered : d.ended;
    out.set(key, run);
  }
  return out;
}

function outcomeOf(phase: Phase): RunOutcome {
  if (phase === 'Finished') return 'finished';
  if (phase === 'Aborted') return 'aborted';
  if (phase === 'Failed') return 'failed';
  if (phase === 'Paused') return 'paused';
  return 'running';
}

/** The current run of an experiment, from its status; undefined if it never started. */
export function runFromExperiment(e: Experiment): Run | undefined {
  const st = e.status;
  if (!st) return undefined;
  const injected = st.targets.map((t) => ms(t.injectedAt)).filter((n): n is number => n !== undefined);
  const start = injected.length ? Math.min(...injected) : ms(st.startedAt);
  if (start === undefined) return undefined;
  const terminal = TERMINAL_PHASES.includes(st.phase);
  const recovered = st.targets.map((t) => ms(t.recoveredAt)).filter((n): n is number => n !== undefined);
  const end = terminal ? (ms(st.endedAt) ?? (recovered.length ? Math.max(...recovered) : undefined)) : undefined;
  return {
    key: runKey(e.metadata.uid, e.metadata.namespace, e.metadata.name),
    uid: e.metadata.uid,
    experiment: e.metadata.name,
    namespace: e.metadata.namespace,
    kind: e.spec.fault.kind,
    start,
    end,
    outcome: outcomeOf(st.phase),
    targets: st.targets.map((t) => t.description || t.id),
    params: e.spec.fault.params,
    reason: st.phase === 'Finished' ? undefined : [st.reason, st.message].filter(Boolean).join(': ') || undefined,
  };
}

/**
 * Merges event-built runs with experiments' current runs (same uid, or same namespace/name when
 * events carry no uid). Experiments add params and target descriptions; runs that only the
 * experiments know (started before the range, no events in it) are added when they overlap it.
 */
export function mergeRuns(fromEvents: Map<string, Run>, experiments: Experiment[], range?: { from: number; to: number }): Run[] {
  const runs = new Map(fromEvents);
  for (const e of experiments) {
    const current = runFromExperiment(e);
    const byName = runKey(undefined, e.metadata.namespace, e.metadata.name);
    if (!current) {
      // Never injected: still give event-built runs of this experiment their params.
      for (const r of runs.values()) if (r.experiment === e.metadata.name && r.namespace === e.metadata.namespace) r.params ??= e.spec.fault.params;
      continue;
    }
    const existing = runs.get(current.key) ?? runs.get(byName);
    if (existing) {
      // Events give the times (they also cover runs of deleted experiments, so regions do not move
      // when an experiment is deleted); the status fills in what the events in range lack.
      existing.params = current.params;
      if (current.targets.length) existing.targets = current.targets;
      if (existing.clipped) {
        existing.start = current.start;
        existing.clipped = false;
      }
      if (existing.end === undefined && current.end !== undefined) existing.end = current.end;
      if (current.outcome !== 'running' || existing.outcome === 'paused') existing.outcome = current.outcome;
      existing.reason = existing.reason ?? current.reason;
    } else if (!range || (current.start <= range.to && (current.end ?? Infinity) >= range.from)) {
      runs.set(current.key, current);
    }
    // Older runs of the same experiment (schedules) only have events: give them the params too.
    for (const r of runs.values()) if (r.experiment === e.metadata.name && r.namespace === e.metadata.namespace) r.params ??= e.spec.fault.params;
  }
  return [...runs.values()].sort((a, b) => a.start - b.start);
}
