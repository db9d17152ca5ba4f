import React from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { useStyles2, useTheme2 } from '@grafana/ui';
import type { SliResult } from '../../api/report';

// One SLI of a run report as a small time series: the value over baseline, fault and after-fault
// windows (shaded like annotation regions), with the baseline mean as a dashed line, so "did it
// come back?" is visible without opening Prometheus.

const W = 480;
const H = 150;
const PAD = { left: 52, right: 8, top: 8, bottom: 20 };

export function formatSli(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (unit === 'ratio') return `${(value * 100).toFixed(value < 0.01 ? 3 : 2)} %`;
  if (unit === 'seconds') return value < 1 ? `${(value * 1000).toFixed(1)} ms` : `${value.toFixed(2)} s`;
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

export function SliChart({ sli }: { sli: SliResult }) {
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  const points = sli.points;
  const t0 = Date.parse(sli.baseline.from) / 1000;
  const t1 = Date.parse(sli.after.to) / 1000;
  const values = points.map((p) => p[1]).filter((v) => Number.isFinite(v));
  const max = Math.max(...values, sli.baseline.mean ?? 0, 0) || 1;
  const x = (t: number) => PAD.left + ((t - t0) / Math.max(t1 - t0, 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const path = points
    .filter((p) => Number.isFinite(p[1]))
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
    .join(' ');
  const band = (from: string, to: string) => ({ x: x(Date.parse(from) / 1000), w: Math.max(1, x(Date.parse(to) / 1000) - x(Date.parse(from) / 1000)) });
  const during = band(sli.during.from, sli.during.to);
  const after = band(sli.after.from, sli.after.to);
  const baselineMean = sli.baseline.mean;
  return (
    <figure className={styles.figure} data-testid={`sli-${sli.name}`}>
      <figcaption className={styles.caption}>
        <strong>{sli.name}</strong>
        <span>
          baseline {formatSli(sli.baseline.mean, sli.unit)} · during {formatSli(sli.during.mean, sli.unit)} (max {formatSli(sli.during.max, sli.unit)}) · after{' '}
          {formatSli(sli.after.mean, sli.unit)} ·{' '}
          {sli.recoverySeconds === null ? 'not back within the window' : `back after ${sli.recoverySeconds.toFixed(0)} s`}
        </span>
      </figcaption>
      {sli.error ? (
        <div className={styles.error}>{sli.error}</div>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} className={styles.svg} role="img" aria-label={`${sli.name} before, during and after the fault`}>
          <rect x={during.x} y={PAD.top} width={during.w} height={H - PAD.top - PAD.bottom} fill={theme.colors.warning.transparent} />
          <rect x={after.x} y={PAD.top} width={after.w} height={H - PAD.top - PAD.bottom} fill={theme.colors.success.transparent} />
          <line x1={PAD.left} x2={W - PAD.right} y1={H - PAD.bottom} y2={H - PAD.bottom} stroke={theme.colors.border.medium} />
          <text x={PAD.left - 4} y={PAD.top + 10} textAnchor="end" fontSize="11" fill={theme.colors.text.secondary}>
            {formatSli(max, sli.unit)}
          </text>
          <text x={PAD.left - 4} y={H - PAD.bottom} textAnchor="end" fontSize="11" fill={theme.colors.text.secondary}>
            0
          </text>
          <text x={during.x + 3} y={H - 6} fontSize="11" fill={theme.colors.text.secondary}>
            fault
          </text>
          <text x={after.x + 3} y={H - 6} fontSize="11" fill={theme.colors.text.secondary}>
            after
          </text>
          {baselineMean !== null && (
            <line x1={PAD.left} x2={W - PAD.right} y1={y(baselineMean)} y2={y(baselineMean)} stroke={theme.colors.text.secondary} strokeDasharray="4 4" />
          )}
          <path d={path} fill="none" stroke={theme.visualization.getColorByName('blue')} strokeWidth={2} />
        </svg>
      )}
    </figure>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  figure: css({ margin: 0, padding: theme.spacing(1.5), background: theme.colors.background.primary, border: `1px solid ${theme.colors.border.weak}`, borderRadius: theme.shape.radius.default }),
  caption: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(0.5), marginBottom: theme.spacing(1), fontSize: theme.typography.bodySmall.fontSize, color: theme.colors.text.secondary, strong: { color: theme.colors.text.primary, fontSize: theme.typography.body.fontSize } }),
  svg: css({ width: '100%', height: 'auto', display: 'block' }),
  error: css({ color: theme.colors.error.text }),
});
