import type { FaultlineEvent } from '../../api/events';
import type { Experiment } from '../../api/experiment';
import type { Report, Sli, SliResult } from '../../api/report';
import { formatDuration, parseDuration } from '../../api/units';
import type { PrometheusClient } from '../guards/promql';
import { DEFAULT_SLIS, combine, sliResult, type Point } from './sli';

// Builds one experiment run's report from its status, its events and (when the exporter knows a
// Prometheus) its SLIs in three windows: baseline before the chaos, during it, after recovery.

const GUARD_EVENT_TYPES = new Set(['guard-fired', 'aborted']);
/** At most this many points per SLI series: enough for a chart, small enough for the JSON. */
const MAX_POINTS = 240;

export async function buildReport(exp: Experiment, events: FaultlineEvent[], prom: PrometheusClient | null, now = Date.now()): Promise<Report> {
  const st = exp.status;
  const startMs = st.startedAt ? Date.parse(st.startedAt) : undefined;
  const endMs = st.endedAt ? Date.parse(st.endedAt) : startMs !== undefined ? now : undefined;
  const guardEvent = events.find((e) => GUARD_EVENT_TYPES.has(e.type) && /alert|guard|promql|freeze|stop/i.test(e.message));
  const report: Report = {
    experiment: { namespace: exp.metadata.namespace, name: exp.metadata.name, uid: exp.metadata.uid, kind: exp.spec.fault.kind },
    phase: st.phase,
    outcome: st.phase === 'Aborted' ? `Aborted: ${st.reason ?? ''}${st.message ? ` (${st.message})` : ''}` : st.phase,
    ...(st.startedAt ? { startedAt: st.startedAt } : {}),
    ...(st.endedAt ? { endedAt: st.endedAt } : {}),
    ...(startMs !== undefined && endMs !== undefined ? { durationSeconds: Math.round((endMs - startMs) / 100) / 10 } : {}),
    ...(guardEvent ? { guard: { type: guardEvent.type, message: guardEvent.message, time: guardEvent.time, ...(st.abortedBy ? { alert: st.abortedBy } : {}) } } : {}),
    targets: st.targets.map((t) => ({
      description: t.description,
      daemon: t.daemon,
      phase: t.phase,
      ...(t.injectedAt ? { injectedAt: t.injectedAt } : {}),
      ...(t.recoveredAt ? { recoveredAt: t.recoveredAt } : {}),
      ...(t.error ? { error: t.error } : {}),
    })),
    timeline: events.map((e) => ({ time: e.time, type: e.type, message: e.message, ...(e.target ? { target: e.target } : {}), ...(e.actor ? { actor: e.actor } : {}) })),
    slis: [],
  };
  if (startMs === undefined || endMs === undefined) {
    report.prometheus = 'the experiment never injected, so there is no window to measure';
    return report;
  }
  if (!prom) {
    report.prometheus = NO_PROMETHEUS;
    return report;
  }
  const spec = exp.spec.report;
  const baselineMs = parseDuration(spec?.baseline ?? '5m');
  const afterMs = parseDuration(spec?.after ?? '5m');
  const w = { baselineFrom: (startMs - baselineMs) / 1000, start: startMs / 1000, end: endMs / 1000, afterTo: Math.min(now, endMs + afterMs) / 1000 };
  const step = Math.max(1, Math.ceil((w.afterTo - w.baselineFrom) / MAX_POINTS));
  const slis: Sli[] = spec?.slis?.length ? spec.slis : DEFAULT_SLIS;
  report.slis = await Promise.all(slis.map((sli) => measure(prom, sli, w, step)));
  // Windows that are not over yet are marked, and the report says when they are: figures so far are
  // not passed off as the result (an after-window that has not happened has no recovery to show).
  const running = !st.endedAt;
  const afterOpen = running || endMs + afterMs > now;
  for (const r of report.slis) {
    if (running) r.during.partial = true;
    if (afterOpen) r.after.partial = true;
  }
  const pending = pendingWindows(st.phase, running, endMs + afterMs, now, spec?.after ?? '5m');
  if (pending) report.pending = pending;
  return report;
}

/** The one line `report` prints instead of SLIs when the exporter has no Prometheus: how to get them. */
export const NO_PROMETHEUS = 'SLIs not measured: the exporter has no Prometheus. Start it with --prometheus-url http://HOST:9090 (or FAULTLINE_PROMETHEUS_URL) to get them.';

/** Which SLI windows are not finished yet, and when they are; undefined when all are. */
export function pendingWindows(phase: string, running: boolean, afterEndMs: number, now: number, after: string): string | undefined {
  if (running) return `the experiment is still ${phase}: "during" covers it up to now, and the ${after} after-window starts when it ends; recovery is not known yet`;
  if (afterEndMs > now) return `the after-window runs until ${new Date(afterEndMs).toISOString()} (${formatDuration(Math.ceil((afterEndMs - now) / 1000) * 1000)} from now): "after" and recovery are figures so far`;
  return undefined;
}

async function measure(prom: PrometheusClient, sli: Sli, w: { baselineFrom: number; start: number; end: number; afterTo: number }, step: number): Promise<SliResult> {
  try {
    const series = await prom.queryRange(sli.expr, Math.floor(w.baselineFrom), Math.ceil(w.afterTo), step, 10_000);
    return sliResult(sli, combine(series.map((s) => s.values as Point[])), w);
  } catch (err) {
    return { ...sliResult(sli, [], w), error: (err as Error).message };
  }
}
