import { createDataFrame, FieldType, type DataFrame } from '@grafana/data';
import type { Experiment, FaultlineEvent } from './types';
import type { Run, RunOutcome } from './runs';
import { runReport } from '../app/links';

// Exporter data → Grafana data frames. Field names here are the contract with dashboards
// (table columns, transformations, annotation mappings), so tests pin them.

const ms = (t: string | undefined): number | null => {
  if (!t) return null;
  const n = Date.parse(t);
  return Number.isNaN(n) ? null : n;
};

export function targetSummary(e: Experiment): string {
  const targets = e.status?.targets ?? [];
  if (targets.length === 0) return '';
  return targets.map((t) => `${t.description || t.id} (${t.phase})`).join(', ');
}

/** Experiments query: one row per experiment. */
export function experimentsFrame(refId: string, experiments: Experiment[]): DataFrame {
  return createDataFrame({
    refId,
    name: 'experiments',
    meta: { preferredVisualisationType: 'table' },
    fields: [
      { name: 'name', type: FieldType.string, values: experiments.map((e) => e.metadata.name) },
      { name: 'namespace', type: FieldType.string, values: experiments.map((e) => e.metadata.namespace) },
      { name: 'kind', type: FieldType.string, values: experiments.map((e) => e.spec.fault.kind) },
      { name: 'phase', type: FieldType.string, values: experiments.map((e) => e.status?.phase ?? 'Pending') },
      { name: 'targets', type: FieldType.string, values: experiments.map(targetSummary) },
      { name: 'started', type: FieldType.time, values: experiments.map((e) => ms(e.status?.startedAt)) },
      { name: 'ends', type: FieldType.time, values: experiments.map((e) => ms(e.status?.endedAt ?? e.status?.endsAt)) },
      { name: 'duration', type: FieldType.string, values: experiments.map((e) => e.spec.duration) },
      { name: 'message', type: FieldType.string, values: experiments.map((e) => e.status?.message ?? '') },
      { name: 'uid', type: FieldType.string, values: experiments.map((e) => e.metadata.uid) },
    ],
  });
}

const ERROR_TYPES = new Set(['failed', 'inject-failed', 'recover-failed', 'aborted', 'daemon-down']);
const WARNING_TYPES = new Set(['guard-fired', 'paused', 'frozen', 'skipped', 'deleted']);

export function eventLevel(type: string): 'error' | 'warning' | 'info' {
  if (ERROR_TYPES.has(type)) return 'error';
  if (WARNING_TYPES.has(type)) return 'warning';
  return 'info';
}

export function eventLine(ev: FaultlineEvent): string {
  const subject = ev.experiment ? `${ev.namespace ?? 'default'}/${ev.experiment}` : 'faultline';
  const target = ev.target ? ` [${ev.target}]` : '';
  return `${ev.type} ${subject}${target}: ${ev.message}`;
}

export const EVENT_FIELDS = ['time', 'body', 'level', 'id', 'type', 'experiment', 'namespace', 'kind', 'target', 'phase', 'actor', 'labels'] as const;

/** Field definitions of the events frame (logs-shaped: time, body, level, labels, then details). */
function eventFieldValues(events: FaultlineEvent[]) {
  const str = (pick: (e: FaultlineEvent) => string | undefined) => events.map((e) => pick(e) ?? '');
  return [
    { name: 'time', type: FieldType.time, values: events.map((e) => ms(e.time)) },
    { name: 'body', type: FieldType.string, values: events.map(eventLine) },
    { name: 'level', type: FieldType.string, values: events.map((e) => eventLevel(e.type)) },
    { name: 'id', type: FieldType.string, values: events.map((e) => String(e.id)) },
    { name: 'type', type: FieldType.string, values: str((e) => e.type) },
    { name: 'experiment', type: FieldType.string, values: str((e) => e.experiment) },
    { name: 'namespace', type: FieldType.string, values: str((e) => e.namespace) },
    { name: 'kind', type: FieldType.string, values: str((e) => e.kind) },
    { name: 'target', type: FieldType.string, values: str((e) => e.target) },
    { name: 'phase', type: FieldType.string, values: str((e) => e.phase) },
    { name: 'actor', type: FieldType.string, values: str((e) => e.actor) },
    { name: 'labels', type: FieldType.other, values: events.map(eventLabels) },
  ];
}

export function eventLabels(e: FaultlineEvent): Record<string, string> {
  const labels: Record<string, string> = { type: e.type };
  if (e.namespace) labels.namespace = e.namespace;
  if (e.kind) labels.kind = e.kind;
  if (e.experiment) labels.experiment = e.experiment;
  return labels;
}

/** Events query: a logs-shaped frame, oldest first. */
export function eventsFrame(refId: string, events: FaultlineEvent[]): DataFrame {
  return createDataFrame({ refId, name: 'events', meta: { preferredVisualisationType: 'logs' }, fields: eventFieldValues(events) });
}

/**
 * Active faults: for each kind, how many runs were injected during each step of the range
 * ([t, t + step)). A run counts from its start up to its end (or `now` while still on), so a
 * run that began inside the last step already shows.
 */
export function activeFaultsFrames(refId: string, runs: Run[], from: number, to: number, stepMs: number, now = Date.now()): DataFrame[] {
  const step = Math.max(1000, Math.floor(stepMs));
  const times: number[] = [];
  for (let t = Math.floor(from / step) * step; t <= to; t += step) times.push(t);
  const kinds = [...new Set(runs.map((r) => r.kind))].sort();
  if (kinds.length === 0) {
    return [
      createDataFrame({
        refId,
        name: 'active faults',
        fields: [
          { name: 'time', type: FieldType.time, values: times },
          { name: 'active', type: FieldType.number, values: times.map(() => 0), config: { displayNameFromDS: 'active faults' } },
        ],
      }),
    ];
  }
  return kinds.map((kind) => {
    const ofKind = runs.filter((r) => r.kind === kind);
    const counts = times.map((t) => ofKind.filter((r) => r.start < t + step && (r.end ?? now) > t).length);
    return createDataFrame({
      refId,
      name: kind,
      fields: [
        { name: 'time', type: FieldType.time, values: times },
        { name: 'active', type: FieldType.number, values: counts, labels: { kind }, config: { displayNameFromDS: kind, decimals: 0 } },
      ],
    });
  });
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const MAX_TARGET_TAGS = 5;

/**
 * Region colour by outcome, from Grafana's palette so it reads in both themes: orange while the
 * fault is on, blue while paused, green when it ended well, yellow when a guard aborted it, red
 * when it failed.
 */
export const OUTCOME_COLORS: Record<RunOutcome, string> = {
  running: '#FF9830',
  paused: '#5794F2',
  finished: '#73BF69',
  aborted: '#FADE2A',
  failed: '#F2495C',
};

export function runTitle(run: Run): string {
  return `${run.kind} on ${run.namespace}/${run.experiment}`;
}

/** Annotation text: Grafana shows it as (sanitized) HTML under the title, with a link to the run's report. */
export function runText(run: Run, datasourceUid?: string): string {
  const lines = [`kind: ${run.kind}`];
  if (run.params && Object.keys(run.params).length) lines.push(`params: ${JSON.stringify(run.params)}`);
  if (run.targets.length) lines.push(`targets: ${run.targets.join(', ')}`);
  lines.push(`outcome: ${run.outcome}${run.reason ? ` (${run.reason})` : ''}`);
  const href = runReport(run.namespace, run.experiment, datasourceUid, true);
  return [...lines.map(escapeHtml), `<a href="${escapeHtml(href)}">Open the run report</a>`].join('<br>');
}

/**
 * A target as a tag: the process or object name without pid and host ("pid 18900 (sleep) on vm"
 * and "sleep (pid 18900)" are both "sleep"), so tags group runs across restarts.
 */
export function targetTag(description: string): string {
  let s = description.trim().replace(/\s+on\s+\S+$/, '');
  const named = /^pid\s+\d+\s+\((.+)\)$/.exec(s) ?? /^(.+?)\s+\(pid\s+\d+\)$/.exec(s);
  if (named) s = named[1];
  s = s.replace(/\bpid\s+\d+\b/g, '').replace(/\s+/g, ' ').trim();
  return s || description.trim();
}

export function runTags(run: Run): string[] {
  const targets = [...new Set(run.targets.map(targetTag))].slice(0, MAX_TARGET_TAGS);
  return [...new Set(['faultline', run.kind, run.namespace, run.outcome, ...targets])];
}

/**
 * Annotation query: one region per run (time = injected, timeEnd = recovered or now while on),
 * coloured by outcome, linking to the run's report on the app page.
 */
export function annotationsFrame(refId: string, runs: Run[], now = Date.now(), datasourceUid?: string): DataFrame {
  return createDataFrame({
    refId,
    name: 'annotations',
    fields: [
      { name: 'time', type: FieldType.time, values: runs.map((r) => r.start) },
      { name: 'timeEnd', type: FieldType.time, values: runs.map((r) => r.end ?? now) },
      { name: 'title', type: FieldType.string, values: runs.map(runTitle) },
      { name: 'text', type: FieldType.string, values: runs.map((r) => runText(r, datasourceUid)) },
      { name: 'tags', type: FieldType.other, values: runs.map(runTags) },
      { name: 'color', type: FieldType.string, values: runs.map((r) => OUTCOME_COLORS[r.outcome]) },
      { name: 'run', type: FieldType.string, values: runs.map((r) => r.key) },
      { name: 'outcome', type: FieldType.string, values: runs.map((r) => r.outcome) },
    ],
  });
}
