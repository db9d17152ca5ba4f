import type { FaultlineEvent } from '../api/events';
import type { Experiment } from '../api/experiment';
import type { KindInfo, TargetCandidate } from '../api/targets';
import { age, table } from './client';

// Tables for `-o table` (the default), one function per resource.

export function experimentsTable(items: Experiment[]): string {
  if (items.length === 0) return 'No experiments.';
  return table(
    ['NAMESPACE', 'NAME', 'KIND', 'PHASE', 'TARGETS', 'STARTED', 'ENDS', 'AGE'],
    items.map((e) => {
      const s = e.status;
      const injected = s.targets.filter((t) => t.phase === 'Injected').length;
      return [
        e.metadata.namespace,
        e.metadata.name,
        e.spec.fault.kind,
        e.spec.schedule ? `${s.phase === 'Pending' ? 'Scheduled' : s.phase === 'Paused' ? 'Suspended' : s.phase}` : s.phase,
        e.spec.schedule ? `cron ${e.spec.schedule}` : `${injected}/${s.targets.length}`,
        s.startedAt,
        s.endedAt ? `ended ${s.endedAt}` : (s.endsAt ?? s.schedule?.nextRunAt),
        age(e.metadata.creationTimestamp),
      ];
    }),
  );
}

export function eventLine(e: FaultlineEvent): string {
  const who = e.experiment ? `${e.namespace}/${e.experiment}` : (e.target ?? '');
  return `${e.time}  ${e.type.padEnd(14)} ${who.padEnd(28)} ${e.message}${e.actor && e.actor !== 'system' ? `  [${e.actor}]` : ''}`;
}

export function eventsTable(items: FaultlineEvent[]): string {
  if (items.length === 0) return 'No events.';
  return items.map(eventLine).join('\n');
}

export function kindsTable(items: KindInfo[]): string {
  return table(
    ['KIND', 'SCOPE', 'SUPPORTED ON', 'TITLE'],
    items.map((k) => [k.kind, k.scope, k.support.filter((s) => s.supported).map((s) => s.daemon).join(',') || 'none', k.title]),
  );
}

export function targetsTable(items: TargetCandidate[]): string {
  if (items.length === 0) return 'No targets.';
  return table(
    ['DAEMON', 'PID', 'NAME', 'CGROUP', 'DESCRIPTION'],
    items.map((t) => [t.daemon, t.pid, t.processName ?? t.netns, t.cgroup, (t.cmdline ?? t.description).slice(0, 80)]),
  );
}

export function describeExperiment(e: Experiment, events: FaultlineEvent[]): string {
  const s = e.status;
  const lines = [
    `Name:        ${e.metadata.name}`,
    `Namespace:   ${e.metadata.namespace}`,
    `UID:         ${e.metadata.uid}`,
    `Created:     ${e.metadata.creationTimestamp}`,
    `Labels:      ${Object.entries(e.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`,
    `Fault:       ${e.spec.fault.kind} ${JSON.stringify(e.spec.fault.params ?? {})}`,
    `Selector:    ${JSON.stringify(e.spec.targets?.selector ?? {})} mode=${e.spec.targets?.mode ?? 'all'}${e.spec.targets?.value ? ` value=${e.spec.targets.value}` : ''}`,
    `Duration:    ${e.spec.duration}`,
  ];
  if (e.spec.schedule) {
    lines.push(`Schedule:    ${e.spec.schedule} (concurrencyPolicy ${e.spec.concurrencyPolicy ?? 'Forbid'}, historyLimit ${e.spec.historyLimit ?? 10})`);
    lines.push(`Next run:    ${s.schedule?.nextRunAt ?? '-'}`, `Last run:    ${s.schedule?.lastRun ?? '-'} ${s.schedule?.lastRunAt ?? ''}`, `Active runs: ${s.schedule?.active.join(', ') || '-'}`);
  }
  if (e.spec.guards) lines.push(`Guards:      ${JSON.stringify(e.spec.guards)}`);
  lines.push(`Phase:       ${s.phase}${s.reason ? ` (${s.reason})` : ''}`);
  if (s.message) lines.push(`Message:     ${s.message}`);
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
