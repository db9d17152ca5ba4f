import type { ScopedVars } from '@grafana/data';
import type { TemplateSrv } from '@grafana/runtime';
import type { Experiment, FaultlineEvent, FaultlineFilters } from './types';

// Filters arrive as text with template variables ($namespace, ${kind:csv}, multi-value, "All").
// They are interpolated into lists of values: one value goes to the exporter as a query
// parameter, several (or "All") are matched here, because the exporter takes one value per filter.

const SEP = '\u001f';
/** What "All" turns into: Grafana's marker, or the custom all values people commonly set. */
const MATCH_ALL = new Set(['$__all', '*', '.*', 'All', 'all']);

/** A filter after interpolation: undefined = no filter. */
export type FilterValues = string[] | undefined;
export type ResolvedFilters = Record<keyof FaultlineFilters, FilterValues>;

export const FILTER_KEYS: ReadonlyArray<keyof FaultlineFilters> = ['namespace', 'kind', 'experiment', 'phase', 'target'];

/** `splitCommas`: names never contain commas, so "a,b" typed by hand means two values; target descriptions may. */
export function interpolateValues(templateSrv: TemplateSrv, text: string | undefined, scopedVars?: ScopedVars, splitCommas = true): FilterValues {
  if (!text || !text.trim()) return undefined;
  const joined = templateSrv.replace(text, scopedVars, (value: unknown) => (Array.isArray(value) ? value.join(SEP) : String(value)));
  const values = joined
    .split(SEP)
    .flatMap((v) => (splitCommas ? v.split(',') : [v]))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (values.length === 0 || values.some((v) => MATCH_ALL.has(v))) return undefined;
  return [...new Set(values)];
}

export function resolveFilters(
  templateSrv: TemplateSrv,
  filters: FaultlineFilters,
  scopedVars?: ScopedVars,
  defaultNamespace?: string,
): ResolvedFilters {
  const out = {} as ResolvedFilters;
  for (const key of FILTER_KEYS) out[key] = interpolateValues(templateSrv, filters[key], scopedVars, key !== 'target');
  if (!out.namespace && !filters.namespace && defaultNamespace) out.namespace = [defaultNamespace];
  return out;
}

/** Query parameters for the exporter: only filters with exactly one value. */
export function serverParams(filters: Partial<ResolvedFilters>, keys: ReadonlyArray<keyof FaultlineFilters> = FILTER_KEYS): Record<string, string> {
  const params: Record<string, string> = {};
  for (const key of keys) {
    const values = filters[key];
    if (values && values.length === 1) params[key] = values[0];
  }
  return params;
}

const oneOf = (values: FilterValues, actual: string | undefined): boolean => !values || (actual !== undefined && values.includes(actual));
const someContains = (values: FilterValues, actual: string[]): boolean =>
  !values || actual.some((a) => values.some((v) => a === v || a.includes(v)));

export function experimentTargets(e: Experiment): string[] {
  return (e.status?.targets ?? []).flatMap((t) => [t.description, t.id, t.daemon].filter((s): s is string => Boolean(s)));
}

export function matchesExperiment(f: Partial<ResolvedFilters>, e: Experiment): boolean {
  return (
    oneOf(f.namespace, e.metadata.namespace) &&
    oneOf(f.kind, e.spec.fault.kind) &&
    oneOf(f.experiment, e.metadata.name) &&
    oneOf(f.phase, e.status?.phase) &&
    someContains(f.target, experimentTargets(e))
  );
}

export function matchesEvent(f: Partial<ResolvedFilters>, ev: FaultlineEvent): boolean {
  return (
    oneOf(f.namespace, ev.namespace) &&
    oneOf(f.kind, ev.kind) &&
    oneOf(f.experiment, ev.experiment) &&
    // An event's phase is the phase it moved to; most event types carry none, so only filter when present.
    (!f.phase || !ev.phase || f.phase.includes(ev.phase)) &&
    (!f.target || !ev.target || someContains(f.target, [ev.target]))
  );
}
