import type { FaultlineEvent } from '../api/events';
import type { Experiment } from '../api/experiment';
import type { KindInfo, TargetCandidate } from '../api/targets';
import { age, table, yamlModule } from './client';

// Tables for `-o table` (the default), one function per resource.

export interface TableOptions {
  /** -o wide: absolute times and more columns. */
  wide?: boolean;
  /** -A: a NAMESPACE column first, as kubectl does. */
  allNamespaces?: boolean;
  now?: number;
}

/** "in 3m12s" / "3m12s ago" relative to now, for times that may lie ahead (ENDS, NEXT RUN). */
export function relative(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  return t >= now ? `in ${age(new Date(now - (t - now)).toISOString(), now)}` : `${age(iso, now)} ago`;
}

export function experimentsTable(items: Experiment[], o: TableOptions = {}): string {
  const now = o.now ?? Date.now();
  const ns = o.allNamespaces || o.wide;
  return table(
    [...(ns ? ['NAMESPACE'] : []), 'NAME', 'KIND', 'PHASE', 'TARGETS', 'ENDS', 'AGE', ...(o.wide ? ['STARTED', 'ENDED', 'CREATED', 'REASON'] : [])],
    items.map((e) => {
      const s = e.status;
      const injected = s.targets.filter((t) => t.phase === 'Injected').length;
      const ends = s.endedAt ? `ended ${relative(s.endedAt, now)}` : relative(s.endsAt ?? s.schedule?.nextRunAt, now);
      return [
        ...(ns ? [e.metadata.namespace] : []),
        e.metadata.name,
        e.spec.fault.kind,
        e.spec.schedule ? `${s.phase === 'Pending' ? 'Scheduled' : s.phase === 'Paused' ? 'Suspended' : s.phase}` : s.phase,
        e.spec.schedule ? `cron ${e.spec.schedule}` : `${injected}/${s.targets.length}`,
        o.wide ? (s.endedAt ?? s.endsAt ?? s.schedule?.nextRunAt) : ends,
        age(e.metadata.creationTimestamp, now),
        ...(o.wide ? [s.startedAt, s.endedAt, e.metadata.creationTimestamp, s.reason] : []),
      ];
    }),
  );
}

export function eventLine(e: FaultlineEvent): string {
  const who = e.experiment ? `${e.namespace}/${e.experiment}` : (e.target ?? '');
  return `${e.time}  ${e.type.padEnd(14)} ${who.padEnd(28)} ${e.message}${e.actor && e.actor !== 'system' ? `  [${e.actor}]` : ''}`;
}

export function eventsTable(items: FaultlineEvent[]): string {
  return items.map(eventLine).join('\n');
}

export function kindsTable(items: KindInfo[]): string {
  return table(
    ['KIND', 'SCOPE', 'SUPPORTED ON', 'TITLE'],
    items.map((k) => [k.kind, k.scope, k.support.filter((s) => s.supported).map((s) => s.daemon).join(',') || 'none', k.title]),
  );
}

/** The first `max` characters of a command line, cut at a space (not inside a word) with an ellipsis. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf(' ', max - 1);
  return `${text.slice(0, cut > max / 2 ? cut : max - 1)}…`;
}

export function targetsTable(items: TargetCandidate[], o: TableOptions = {}): string {
  return table(
    ['DAEMON', 'PID', 'NAME', ...(o.wide ? ['NETNS'] : []), 'CGROUP', 'COMMAND'],
    items.map((t) => [t.daemon, t.pid, t.processName ?? t.netns, ...(o.wide ? [t.netns] : []), t.cgroup, o.wide ? (t.cmdline ?? t.description) : shorten(t.cmdline ?? t.description, 80)]),
  );
}

/** A value as YAML, indented under its heading (nothing for an empty object). */
export function yamlBlock(value: unknown): string[] {
  if (value === undefined || value === null || (typeof value === 'object' && Object.keys(value).length === 0)) return [];
  return yamlModule()
    .stringify(value, { lineWidth: 0 })
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`);
}

export function describeExperiment(e: Experiment, events: FaultlineEvent[]): string {
  const s = e.status;
  const lines = [
    `Name:        ${e.metadata.name}`,
    `Namespace:   ${e.metadata.namespace}`,
    `UID:         ${e.metadata.uid}`,
    `Created:     ${e.metadata.creationTimestamp}`,
    `Labels:      ${Object.entries(e.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`,
    `Fault:       ${e.spec.fault.kind}`,
    ...yamlBlock(e.spec.fault.params),
    `Selector:    mode=${e.spec.targets?.mode ?? 'all'}${e.spec.targets?.value ? ` value=${e.spec.targets.value}` : ''}`,
    ...yamlBlock(e.spec.targets?.selector),
    `Duration:    ${e.spec.duration}`,
  ];
  if (e.spec.schedule) {
    lines.push(`Schedule:    ${e.spec.schedule} (concurrencyPolicy ${e.spec.concurrencyPolicy ?? 'Forbid'}, historyLimit ${e.spec.historyLimit ?? 10})`);
    lines.push(`Next run:    ${s.schedule?.nextRunAt ?? '-'}`, `Last run:    ${s.schedule?.lastRun ?? '-'} ${s.schedule?.lastRunAt ?? ''}`, `Active runs: ${s.schedule?.active.join(', ') || '-'}`);
  }
  if (e.spec.guards) lines.push('Guards:', ...yamlBlock(e.spec.guards));
  lines.push(`Phase:       ${s.phase}${s.reason ? ` (${s.reason})` : ''}`);
  if (s.message) lines.push(`Message:     ${s.message}`);
  if (s.abortedBy) {
    // the alert as fields: where it comes from is here, not pasted into the message
    const a = s.abortedBy;
    lines.push('Aborted by:', `  Alert:         ${a.alert} (${a.source}, fingerprint ${a.fingerprint})`, `  Matched:       ${a.rule}`);
    lines.push(`  Labels:        ${Object.entries(a.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') || '-'}`);
    if (a.startsAt) lines.push(`  Firing since:  ${a.startsAt}`);
    if (a.generatorURL) lines.push(`  Generator URL: ${a.generatorURL}`);
  }
  lines.push(`Started:     ${s.startedAt ?? '-'}`, `Ends:        ${s.endsAt ?? '-'}`, `Ended:       ${s.endedAt ?? '-'}`);
  if (s.targets.length) {
    lines.push('', 'Targets:');
    lines.push(
      table(
        ['  ID', 'DAEMON', 'TARGET', 'PHASE', 'INJECTED', 'RECOVERED', 'ERROR'],
        s.targets.map((t) => [`  ${t.id}`, t.daemon, t.description, t.phase, t.injectedAt, t.recoveredAt, t.error]),
      ),
    );
  }
  if (s.conditions.length) {
    lines.push('', 'Conditions:');
    for (const c of s.conditions) lines.push(`  ${c.type}=${c.status} ${c.reason ?? ''} ${c.message ?? ''} (${c.lastTransitionTime})`);
  }
  lines.push('', 'Events:', events.length ? events.map((ev) => `  ${eventLine(ev)}`).join('\n') : '  none');
  return lines.join('\n');
}
