import type { Sli, SliResult, WindowStats } from '../../api/report';

// Pure arithmetic over SLI points: window statistics and the recovery time. Kept apart from the
// Prometheus calls so it is tested with exact numbers.

/** The demo service's SLIs, used when an experiment names none (same expressions as the provisioned rules). */
export const DEFAULT_SLIS: Sli[] = [
  {
    name: 'error ratio',
    unit: 'ratio',
    absoluteTolerance: 0.01,
    tolerance: 0.1,
    expr: '(sum(rate(demo_http_requests_total{route=~"/api/.*", code=~"5.."}[30s])) or vector(0)) / clamp_min(sum(rate(demo_http_requests_total{route=~"/api/.*"}[30s])), 1e-9)',
  },
  {
    name: 'p99 latency',
    unit: 'seconds',
    absoluteTolerance: 0.005,
    tolerance: 0.25,
    expr: 'histogram_quantile(0.99, sum by (le) (rate(demo_http_request_duration_seconds_bucket{route=~"/api/.*"}[30s])))',
  },
];

export type Point = [number, number];

/** Several series → one: the max at each timestamp (the worst instance is what users feel). */
export function combine(series: Point[][]): Point[] {
  const byTime = new Map<number, number>();
  for (const s of series) for (const [t, v] of s) if (Number.isFinite(v)) byTime.set(t, Math.max(byTime.get(t) ?? -Infinity, v));
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]);
}

/** Statistics over the half-open window [fromSec, toSec), so a sample at the boundary counts once. */
export function windowStats(points: Point[], fromSec: number, toSec: number): WindowStats {
  const vals = points.filter(([t]) => t >= fromSec && t < toSec).map(([, v]) => v);
  return {
    from: new Date(fromSec * 1000).toISOString(),
    to: new Date(toSec * 1000).toISOString(),
    mean: vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null,
    max: vals.length ? Math.max(...vals) : null,
    samples: vals.length,
  };
}

/**
 * Seconds after `endSec` at which the SLI is back within tolerance of the baseline and stays there
 * for the rest of the window (a single good sample amid bad ones is not a recovery). 0 when it never
 * left; null when it is not back by the end of the window or there is no baseline.
 */
export function recoverySeconds(points: Point[], baselineMean: number | null, endSec: number, sli: Sli): number | null {
  if (baselineMean === null) return null;
  const tol = Math.max((sli.tolerance ?? 0.1) * Math.abs(baselineMean), sli.absoluteTolerance ?? 0);
  const after = points.filter(([t]) => t >= endSec);
  if (after.length === 0) return null;
  let firstGood: number | null = null;
  for (const [t, v] of after) {
    if (Math.abs(v - baselineMean) <= tol) firstGood ??= t;
    else firstGood = null;
  }
  return firstGood === null ? null : Math.max(0, firstGood - endSec);
}

export function sliResult(sli: Sli, points: Point[], w: { baselineFrom: number; start: number; end: number; afterTo: number }): SliResult {
  const baseline = windowStats(points, w.baselineFrom, w.start);
  return {
    name: sli.name,
    expr: sli.expr,
    unit: sli.unit ?? '',
    baseline,
    during: windowStats(points, w.start, w.end),
    after: windowStats(points, w.end, w.afterTo + 1e-6),
    recoverySeconds: recoverySeconds(points, baseline.mean, w.end, sli),
    points,
  };
}
